//! The one place where Erlang terms and wire values meet.

use alcove_proto::{Value, MAX_NESTING};
use rustler::types::tuple::make_tuple;
use rustler::{Atom, Binary, Encoder, Env, ListIterator, NewBinary, Term, TermType};

/// Why a term cannot be sent: raised as `badarg`.
#[derive(Debug)]
pub struct Unsupported;

/// Bytes one call's arguments may take: what fits in a frame. The budget
/// is spent as the term is walked, so a term that refers to one large
/// binary many times is refused after the first copies, not flattened.
pub const ARGS_BUDGET: usize = alcove_proto::MAX_FRAME;

/// What a term costs against the budget besides its bytes.
const PER_TERM: usize = 1;

/// Convert a call argument. Integers, binaries, atoms, lists and tuples
/// travel; pids, refs, funs, maps and floats do not. `budget` is what is
/// left of [`ARGS_BUDGET`].
pub fn term_to_value(term: Term, depth: usize, budget: &mut usize) -> Result<Value, Unsupported> {
    if depth > MAX_NESTING {
        return Err(Unsupported);
    }
    spend(budget, PER_TERM)?;
    match term.get_type() {
        TermType::Integer => {
            if let Ok(i) = term.decode::<i64>() {
                Ok(Value::Int(i))
            } else {
                term.decode::<u64>()
                    .map(Value::UInt)
                    .map_err(|_| Unsupported)
            }
        }
        TermType::Binary => {
            let bin: Binary = term.decode().map_err(|_| Unsupported)?;
            spend(budget, bin.len())?;
            Ok(Value::Bin(bin.as_slice().to_vec()))
        }
        TermType::Atom => {
            let name = term.atom_to_string().map_err(|_| Unsupported)?;
            spend(budget, name.len())?;
            Ok(Value::Atom(name))
        }
        TermType::List => proper_list(term)?
            .map(|t| term_to_value(t, depth + 1, budget))
            .collect::<Result<_, _>>()
            .map(Value::List),
        TermType::Tuple => {
            let items = rustler::types::tuple::get_tuple(term).map_err(|_| Unsupported)?;
            items
                .into_iter()
                .map(|t| term_to_value(t, depth + 1, budget))
                .collect::<Result<_, _>>()
                .map(Value::Tuple)
        }
        _ => Err(Unsupported),
    }
}

fn spend(budget: &mut usize, cost: usize) -> Result<(), Unsupported> {
    *budget = budget.checked_sub(cost).ok_or(Unsupported)?;
    Ok(())
}

/// Build the Erlang term for a reply or event value.
pub fn value_to_term<'a>(env: Env<'a>, value: &Value) -> Term<'a> {
    match value {
        Value::Int(i) => i.encode(env),
        Value::UInt(u) => u.encode(env),
        Value::Bin(bytes) => bytes_to_term(env, bytes),
        Value::Atom(name) => match Atom::from_str(env, name) {
            Ok(atom) => atom.encode(env),
            Err(_) => bytes_to_term(env, name.as_bytes()),
        },
        Value::List(items) => {
            let terms: Vec<Term> = items.iter().map(|v| value_to_term(env, v)).collect();
            terms.encode(env)
        }
        Value::Tuple(items) => {
            let terms: Vec<Term> = items.iter().map(|v| value_to_term(env, v)).collect();
            make_tuple(env, &terms)
        }
    }
}

/// A new binary holding a copy of `bytes`.
pub fn bytes_to_term<'a>(env: Env<'a>, bytes: &[u8]) -> Term<'a> {
    let binary: Binary = NewBinary::from_slice(env, bytes).into();
    binary.encode(env)
}

/// A pipeline term: a proper list of pids that fit in an i32.
pub fn decode_pipeline(term: Term, max_depth: usize) -> Result<Vec<i32>, Unsupported> {
    let iter = proper_list(term)?;
    let mut pipeline = Vec::new();
    for item in iter {
        if pipeline.len() >= max_depth {
            return Err(Unsupported);
        }
        pipeline.push(item.decode::<i32>().map_err(|_| Unsupported)?);
    }
    Ok(pipeline)
}

/// Iterate a proper list of bounded length; improper lists are refused
/// before iterating (rustler's iterator would panic on them).
fn proper_list(term: Term) -> Result<ListIterator, Unsupported> {
    let len = term.list_length().map_err(|_| Unsupported)?;
    if len > alcove_proto::MAX_FRAME {
        return Err(Unsupported);
    }
    term.decode().map_err(|_| Unsupported)
}

/// Walk iodata (binaries, bytes 0..=255, lists, improper tails) without
/// flattening it, handing `emit` its bytes piece by piece in order. A
/// binary referenced many times is read as many times, but never copied
/// into one big buffer. Err for anything that is not iodata.
pub fn walk_iodata<'a>(
    term: Term<'a>,
    mut emit: impl FnMut(&[u8]) -> bool,
) -> Result<(), Unsupported> {
    let mut stack = vec![term];
    while let Some(term) = stack.pop() {
        match term.get_type() {
            TermType::Binary => {
                let bin = rustler::Binary::from_term(term).map_err(|_| Unsupported)?;
                if !emit(bin.as_slice()) {
                    return Ok(());
                }
            }
            TermType::List => {
                if term.is_empty_list() {
                    continue;
                }
                let (head, tail) = term.list_get_cell().map_err(|_| Unsupported)?;
                // The tail is either a list or a binary (an improper tail).
                match tail.get_type() {
                    TermType::List | TermType::Binary => stack.push(tail),
                    _ => return Err(Unsupported),
                }
                match head.get_type() {
                    TermType::Integer => {
                        let byte: u8 = head.decode().map_err(|_| Unsupported)?;
                        if !emit(&[byte]) {
                            return Ok(());
                        }
                    }
                    TermType::List | TermType::Binary => stack.push(head),
                    _ => return Err(Unsupported),
                }
            }
            _ => return Err(Unsupported),
        }
    }
    Ok(())
}
