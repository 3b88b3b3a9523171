%%% @doc Classic BPF instructions for seccomp filters: the functions behind
%%% the macros of `include/alcove_seccomp.hrl'.
%%%
%%% An instruction is struct sock_filter (linux/filter.h): a 16-bit code,
%%% 8-bit jump offsets for true and false, and a 32-bit constant, in
%%% native byte order, 8 bytes in all. A filter reads struct seccomp_data
%%% (linux/seccomp.h); offset/1 says where its fields are. See seccomp(2)
%%% and the kernel's Documentation/networking/filter.rst.
-module(alcove_seccomp).

-include("alcove_seccomp.hrl").

-export([stmt/2, jump/4, insn/1, offset/1]).

-type code() :: 0..16#ffff.
-type jump_offset() :: 0..16#ff.
%% The constant: unsigned, or negative for the same 32 bits.
-type k() :: -16#80000000..16#ffffffff.
-type insn() :: #alcove_insn{} | {code(), jump_offset(), jump_offset(), k()}.
-type field() ::
    nr | arch | instruction_pointer | {args, 0..5} | {args, 0..5, low | high}.

-type load_size() :: word | halfword | byte.

-export_type([insn/0, field/0, load_size/0]).

%% @doc seccomp(2): an instruction that does not jump (BPF_STMT).
-spec stmt(code(), k()) -> <<_:64>>.
stmt(Code, K) ->
    insn({Code, 0, 0, K}).

%% @doc seccomp(2): a conditional jump (BPF_JUMP): on true skip `JT'
%% instructions, on false skip `JF'.
-spec jump(code(), k(), jump_offset(), jump_offset()) -> <<_:64>>.
jump(Code, K, JT, JF) ->
    insn({Code, JT, JF, K}).

%% @doc seccomp(2): the 8 bytes of a struct sock_filter, from an
%% `#alcove_insn{}' record (or a `{Code, JT, JF, K}' tuple); given the 8
%% bytes, the record back.
-spec insn(insn()) -> <<_:64>>;
          (<<_:64>>) -> #alcove_insn{}.
insn(#alcove_insn{code = Code, jt = JT, jf = JF, k = K}) ->
    insn({Code, JT, JF, K});
insn(<<Code:16/native-unsigned, JT:8, JF:8, K:32/native-unsigned>>) ->
    #alcove_insn{code = Code, jt = JT, jf = JF, k = K};
insn({Code, JT, JF, K}) when
    is_integer(Code), Code >= 0, Code =< 16#ffff,
    is_integer(JT), JT >= 0, JT =< 16#ff,
    is_integer(JF), JF >= 0, JF =< 16#ff,
    is_integer(K), K >= -16#80000000, K =< 16#ffffffff
->
    <<Code:16/native-unsigned, JT:8, JF:8, K:32/native>>.

%% @doc seccomp(2): the byte offset of a field of struct seccomp_data, to
%% load with `BPF_LD bor BPF_W bor BPF_ABS': the system call number
%% (`nr'), the audit architecture (`arch'), the instruction pointer, or a
%% system call argument. Arguments are 64 bits wide and a load 32:
%% `{args, N, low | high}' is the half wanted, in this machine's byte order;
%% `{args, N}' is where the argument starts.
%%
%% As in the original alcove, it also maps a load size to its code and
%% back: `word', `halfword', `byte' to `BPF_W', `BPF_H', `BPF_B'.
-spec offset(field() | load_size()) -> non_neg_integer();
            (?BPF_W | ?BPF_H | ?BPF_B) -> load_size().
offset(word) -> ?BPF_W;
offset(halfword) -> ?BPF_H;
offset(byte) -> ?BPF_B;
offset(?BPF_W) -> word;
offset(?BPF_H) -> halfword;
offset(?BPF_B) -> byte;
offset(nr) -> 0;
offset(arch) -> 4;
offset(instruction_pointer) -> 8;
offset({args, N}) when is_integer(N), N >= 0, N =< 5 -> 16 + 8 * N;
offset({args, N, Half}) when Half =:= low; Half =:= high ->
    offset({args, N}) + half_offset(Half, endianness()).

half_offset(low, little) -> 0;
half_offset(high, little) -> 4;
half_offset(low, big) -> 4;
half_offset(high, big) -> 0.

endianness() ->
    case <<1:16/native>> of
        <<1:16/little>> -> little;
        _ -> big
    end.
