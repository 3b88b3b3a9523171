%%% Classic BPF (the instruction set of socket filters and seccomp
%%% filters) and seccomp constants, with macros to write filter programs.
%%%
%%% A program is iodata of 8-byte instructions (struct sock_filter:
%%% u16 code, u8 jt, u8 jf, u32 k, in native byte order). An instruction
%%% code is a class OR'ed with size, mode, operation and source codes:
%%%
%%%     ?BPF_STMT(?BPF_LD bor ?BPF_W bor ?BPF_ABS, ?OFFSET_SYSCALL_NR)
%%%
%%% The macros only build binaries: none talks to a helper. Numbers that
%%% depend on the machine (system calls, the audit architecture) come from
%%% alcove:define/3, e.g. alcove:define(Drv, Pipeline, sys_getcwd) and
%%% alcove:define(Drv, Pipeline, alcove:audit_arch()).

-ifndef(ALCOVE_SECCOMP_HRL).
-define(ALCOVE_SECCOMP_HRL, true).

%% Instruction classes.
-define(BPF_LD, 16#00).
-define(BPF_LDX, 16#01).
-define(BPF_ST, 16#02).
-define(BPF_STX, 16#03).
-define(BPF_ALU, 16#04).
-define(BPF_JMP, 16#05).
-define(BPF_RET, 16#06).
-define(BPF_MISC, 16#07).

%% Load and store sizes: word, half word, byte.
-define(BPF_W, 16#00).
-define(BPF_H, 16#08).
-define(BPF_B, 16#10).

%% Addressing modes.
-define(BPF_IMM, 16#00).
-define(BPF_ABS, 16#20).
-define(BPF_IND, 16#40).
-define(BPF_MEM, 16#60).
-define(BPF_LEN, 16#80).
-define(BPF_MSH, 16#a0).

%% ALU operations.
-define(BPF_ADD, 16#00).
-define(BPF_SUB, 16#10).
-define(BPF_MUL, 16#20).
-define(BPF_DIV, 16#30).
-define(BPF_OR, 16#40).
-define(BPF_AND, 16#50).
-define(BPF_LSH, 16#60).
-define(BPF_RSH, 16#70).
-define(BPF_NEG, 16#80).
-define(BPF_MOD, 16#90).
-define(BPF_XOR, 16#a0).

%% Jump operations.
-define(BPF_JA, 16#00).
-define(BPF_JEQ, 16#10).
-define(BPF_JGT, 16#20).
-define(BPF_JGE, 16#30).
-define(BPF_JSET, 16#40).

%% Operand source: the constant k, or the index register X.
-define(BPF_K, 16#00).
-define(BPF_X, 16#08).

%% Return value source: the accumulator (k and X as above).
-define(BPF_A, 16#10).

%% Miscellaneous operations: copy A to X, X to A.
-define(BPF_TAX, 16#00).
-define(BPF_TXA, 16#80).

%% Limits of a program.
-define(BPF_MAXINSNS, 4096).
-define(BPF_MEMWORDS, 16).

%% The parts of an instruction code.
-define(BPF_CLASS(Code), ((Code) band 16#07)).
-define(BPF_SIZE(Code), ((Code) band 16#18)).
-define(BPF_MODE(Code), ((Code) band 16#e0)).
-define(BPF_OP(Code), ((Code) band 16#f0)).
-define(BPF_SRC(Code), ((Code) band 16#08)).
-define(BPF_RVAL(Code), ((Code) band 16#18)).
-define(BPF_MISCOP(Code), ((Code) band 16#f8)).

%% One instruction, decoded: alcove_seccomp:insn/1 turns it into its 8
%% bytes and back.
-record(alcove_insn, {
    code = 0 :: 0..16#ffff,
    jt = 0 :: 0..16#ff,
    jf = 0 :: 0..16#ff,
    k = 0 :: non_neg_integer()
}).

%% One instruction (an 8-byte binary).
-define(BPF_STMT(Code, K), alcove_seccomp:stmt(Code, K)).
-define(BPF_JUMP(Code, K, JT, JF), alcove_seccomp:jump(Code, K, JT, JF)).

%% Seccomp modes (prctl(PR_SET_SECCOMP) and PR_GET_SECCOMP).
-define(SECCOMP_MODE_DISABLED, 0).
-define(SECCOMP_MODE_STRICT, 1).
-define(SECCOMP_MODE_FILTER, 2).

%% Filter return values: an action in the high 16 bits, data (an errno
%% for SECCOMP_RET_ERRNO) in the low 16 bits.
-define(SECCOMP_RET_KILL_PROCESS, 16#80000000).
-define(SECCOMP_RET_KILL_THREAD, 16#00000000).
-define(SECCOMP_RET_KILL, ?SECCOMP_RET_KILL_THREAD).
-define(SECCOMP_RET_TRAP, 16#00030000).
-define(SECCOMP_RET_ERRNO, 16#00050000).
-define(SECCOMP_RET_USER_NOTIF, 16#7fc00000).
-define(SECCOMP_RET_TRACE, 16#7ff00000).
-define(SECCOMP_RET_LOG, 16#7ffc0000).
-define(SECCOMP_RET_ALLOW, 16#7fff0000).
-define(SECCOMP_RET_ACTION_FULL, 16#ffff0000).
-define(SECCOMP_RET_ACTION, 16#7fff0000).
-define(SECCOMP_RET_DATA, 16#0000ffff).

%% struct seccomp_data, what a filter reads: the system call number, its
%% ABI (an AUDIT_ARCH_* value), the instruction pointer and the six
%% arguments (each 64 bits wide whatever the ABI).
-record(alcove_seccomp_data, {
    nr = 0 :: integer(),
    arch = 0 :: non_neg_integer(),
    instruction_pointer = 0 :: non_neg_integer(),
    args = [0, 0, 0, 0, 0, 0] :: [non_neg_integer()]
}).

%% Where its fields are (alcove_seccomp:offset/1 has the arguments'),
%% usable in guards and patterns.
-define(OFFSET_SYSCALL_NR, 0).
-define(OFFSET_ARCH_NR, 4).

%% Kill the process unless it runs the system call ABI of Arch (the
%% AUDIT_ARCH_* value): system call numbers differ between ABIs.
-define(VALIDATE_ARCHITECTURE(Arch), [
    ?BPF_STMT(?BPF_LD bor ?BPF_W bor ?BPF_ABS, ?OFFSET_ARCH_NR),
    ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, (Arch), 1, 0),
    ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_KILL)
]).

%% Load the system call number into the accumulator.
-define(EXAMINE_SYSCALL, ?BPF_STMT(?BPF_LD bor ?BPF_W bor ?BPF_ABS, ?OFFSET_SYSCALL_NR)).

%% After EXAMINE_SYSCALL: allow system call Nr, else go on.
-define(ALLOW_SYSCALL(Nr), [
    ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, (Nr), 0, 1),
    ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_ALLOW)
]).

%% After EXAMINE_SYSCALL: kill the process on system call Nr, else go on.
-define(DENY_SYSCALL(Nr), [
    ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, (Nr), 0, 1),
    ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_KILL)
]).

-endif.
