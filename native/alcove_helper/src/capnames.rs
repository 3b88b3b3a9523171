//! Capability sets and capability names on the wire: the decoders of the
//! `caps_*` calls' arguments (capabilities(7)). Pure functions, so the
//! fuzz target and the unit tests reach them without a process to change.
//!
//! A set is one of the atoms `effective`, `permitted`, `inheritable`,
//! `ambient` and `bounding`; a capability is the lower-case name of its C
//! constant (`cap_chown`). Names that are atoms but no capability's are
//! collected and reported, not raised: the caller learns which.

use crate::args::CallError;
use alcove_proto::Value;
use caps::{CapSet, Capability};
use std::str::FromStr;

/// Most names one call takes: more than every capability there is, few
/// enough that the list of unknown names always fits a reply.
pub const MAX_NAMES: usize = 256;

/// Longest capability name: `cap_checkpoint_restore` and room to grow.
const MAX_NAME_LEN: usize = 64;

/// A capability set by name; anything else is `badarg`.
pub fn set(value: &Value) -> Result<CapSet, CallError> {
    Ok(match value.as_atom().ok_or(CallError::Badarg)? {
        "effective" => CapSet::Effective,
        "permitted" => CapSet::Permitted,
        "inheritable" => CapSet::Inheritable,
        "ambient" => CapSet::Ambient,
        "bounding" => CapSet::Bounding,
        _ => return Err(CallError::Badarg),
    })
}

/// One capability by its lower-case name (`cap_chown`); None for any
/// other atom, upper-case spellings included.
pub fn capability(name: &str) -> Option<Capability> {
    let lower = name.len() <= MAX_NAME_LEN
        && name.starts_with("cap_")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !lower {
        return None;
    }
    Capability::from_str(&name.to_ascii_uppercase()).ok()
}

/// The lower-case name of a capability, as replies carry it.
pub fn name(cap: Capability) -> String {
    cap.to_string().to_ascii_lowercase()
}

/// What a list of names decodes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Names {
    /// Every name known, in the order given (duplicates kept).
    Known(Vec<Capability>),
    /// The atoms that name no capability, in the order given.
    Unknown(Vec<String>),
}

/// A proper list of at most [`MAX_NAMES`] atoms. A non-list, a longer
/// list or an element that is not an atom is `badarg`.
pub fn names(value: &Value) -> Result<Names, CallError> {
    let Value::List(items) = value else {
        return Err(CallError::Badarg);
    };
    if items.len() > MAX_NAMES {
        return Err(CallError::Badarg);
    }
    let mut known = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for item in items {
        let atom = item.as_atom().ok_or(CallError::Badarg)?;
        match capability(atom) {
            Some(cap) => known.push(cap),
            None => unknown.push(atom.to_string()),
        }
    }
    if unknown.is_empty() {
        Ok(Names::Known(known))
    } else {
        Ok(Names::Unknown(unknown))
    }
}

/// `{error, {unknown_caps, [Name]}}`.
pub fn unknown_reply(unknown: &[String]) -> Value {
    Value::tuple2(
        Value::atom("error"),
        Value::tuple2(
            Value::atom("unknown_caps"),
            Value::List(unknown.iter().map(|n| Value::atom(n)).collect()),
        ),
    )
}

/// Names in capability number order, for replies.
pub fn sorted_names(caps: impl IntoIterator<Item = Capability>) -> Value {
    let mut caps: Vec<Capability> = caps.into_iter().collect();
    caps.sort_by_key(Capability::index);
    caps.dedup();
    Value::List(caps.into_iter().map(|c| Value::atom(&name(c))).collect())
}

/// The errno in a `caps` crate error. The crate reports a failed system
/// call as text ending in std's "(os error N)"; any other failure (a set
/// the operation does not apply to) is EINVAL.
pub fn errno(err: &caps::errors::CapsError) -> i32 {
    let text = err.to_string();
    text.rsplit_once("(os error ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(libc::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(names: &[&str]) -> Value {
        Value::List(names.iter().map(|n| Value::atom(n)).collect())
    }

    #[test]
    fn sets_by_name_only() {
        assert!(matches!(
            set(&Value::atom("effective")),
            Ok(CapSet::Effective)
        ));
        assert!(matches!(
            set(&Value::atom("permitted")),
            Ok(CapSet::Permitted)
        ));
        assert!(matches!(
            set(&Value::atom("inheritable")),
            Ok(CapSet::Inheritable)
        ));
        assert!(matches!(
            set(&Value::atom("bounding")),
            Ok(CapSet::Bounding)
        ));
        assert!(matches!(set(&Value::atom("ambient")), Ok(CapSet::Ambient)));
        for bad in [
            Value::atom("Effective"),
            Value::atom("all"),
            Value::Int(0),
            Value::Bin(b"effective".to_vec()),
            Value::List(vec![]),
        ] {
            assert!(matches!(set(&bad), Err(CallError::Badarg)), "{bad:?}");
        }
    }

    #[test]
    fn names_are_lower_case_c_names() {
        assert_eq!(capability("cap_chown"), Some(Capability::CAP_CHOWN));
        assert_eq!(
            capability("cap_checkpoint_restore"),
            Some(Capability::CAP_CHECKPOINT_RESTORE)
        );
        assert_eq!(capability("CAP_CHOWN"), None);
        assert_eq!(capability("chown"), None);
        assert_eq!(capability("cap_"), None);
        assert_eq!(capability(&"cap_x".repeat(100)), None);
        assert_eq!(
            name(Capability::CAP_NET_BIND_SERVICE),
            "cap_net_bind_service"
        );
        for cap in caps::all() {
            assert_eq!(capability(&name(cap)), Some(cap));
        }
    }

    #[test]
    fn lists_of_names() {
        assert_eq!(
            names(&atoms(&["cap_kill", "cap_chown"])),
            Ok(Names::Known(vec![
                Capability::CAP_KILL,
                Capability::CAP_CHOWN
            ]))
        );
        assert_eq!(names(&atoms(&[])), Ok(Names::Known(vec![])));
        assert_eq!(
            names(&atoms(&["cap_kill", "cap_nope", "CAP_CHOWN"])),
            Ok(Names::Unknown(vec!["cap_nope".into(), "CAP_CHOWN".into()]))
        );
        assert_eq!(names(&Value::atom("cap_kill")), Err(CallError::Badarg));
        assert_eq!(
            names(&Value::List(vec![Value::atom("cap_kill"), Value::Int(0)])),
            Err(CallError::Badarg)
        );
        let many = Value::List(vec![Value::atom("cap_kill"); MAX_NAMES + 1]);
        assert_eq!(names(&many), Err(CallError::Badarg));
        let most = Value::List(vec![Value::atom("cap_kill"); MAX_NAMES]);
        assert!(matches!(names(&most), Ok(Names::Known(v)) if v.len() == MAX_NAMES));
    }

    #[test]
    fn replies() {
        assert_eq!(
            sorted_names([
                Capability::CAP_KILL,
                Capability::CAP_CHOWN,
                Capability::CAP_KILL
            ]),
            atoms(&["cap_chown", "cap_kill"])
        );
        assert_eq!(
            unknown_reply(&["cap_nope".into()]),
            Value::tuple2(
                Value::atom("error"),
                Value::tuple2(Value::atom("unknown_caps"), atoms(&["cap_nope"]))
            )
        );
    }

    #[test]
    fn errno_from_crate_errors() {
        let failed = std::io::Error::from_raw_os_error(libc::EPERM);
        let err = caps::errors::CapsError::from(format!("capset failure: {failed}"));
        assert_eq!(errno(&err), libc::EPERM);
        let err = caps::errors::CapsError::from("not a base set");
        assert_eq!(errno(&err), libc::EINVAL);
        let err = caps::errors::CapsError::from("odd (os error 0)");
        assert_eq!(errno(&err), libc::EINVAL);
        // A set the operation does not apply to fails without a system call.
        let not_base = caps::raise(None, CapSet::Bounding, Capability::CAP_CHOWN)
            .expect_err("the bounding set cannot be raised");
        assert_eq!(errno(&not_base), libc::EINVAL);
    }
}
