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
