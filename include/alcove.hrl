%%% Records used by the alcove API.

-record(alcove_rlimit, {cur = 0 :: non_neg_integer(), max = 0 :: non_neg_integer()}).

-record(alcove_timeval, {sec = 0 :: integer(), usec = 0 :: integer()}).

-record(alcove_pid, {
    pid = 0 :: integer(),
    flowcontrol = -1 :: integer(),
    signaloneof = 15 :: integer(),
    fdctl = -1 :: integer(),
    stdin = -1 :: integer(),
    stdout = -1 :: integer(),
    stderr = -1 :: integer()
}).

%% FreeBSD jail(2) parameters; alcove_cstruct:jail/1 turns one into the
%% cstruct that alcove:jail/3 takes.
-record(alcove_jail, {
    version = 2 :: non_neg_integer(),
    path = <<>> :: iodata(),
    hostname = <<>> :: iodata(),
    jailname = <<>> :: iodata(),
    ip4 = [] :: [inet:ip4_address()],
    ip6 = [] :: [inet:ip6_address()]
}).
