%%% @doc Builders for C structures passed to calls that take a
%%% `cstruct()': a list of byte strings and `{ptr, Data}' pointers that
%%% the helper lays out in memory (see `alcove:alloc/3').
-module(alcove_cstruct).

-include("alcove.hrl").

-export([jail/1]).

%% @doc jail(2) (FreeBSD): `struct jail' (version 2) for `alcove:jail/3'.
%% Strings are NUL-terminated; IPv4 and IPv6 addresses are in network
%% byte order.
-spec jail(#alcove_jail{}) -> alcove:cstruct().
jail(#alcove_jail{
    version = 2,
    path = Path,
    hostname = Hostname,
    jailname = Jailname,
    ip4 = IPv4,
    ip6 = IPv6
}) ->
    VersionBytes = 4,
    [
        <<2:32/native-unsigned>>,
        % The pointers that follow are word aligned.
        <<0:(alcove:wordalign(VersionBytes) * 8)>>,
        {ptr, c_string(Path)},
        {ptr, c_string(Hostname)},
        {ptr, c_string(Jailname)},
        <<(length(IPv4)):32/native-unsigned, (length(IPv6)):32/native-unsigned>>,
        {ptr, <<<<A, B, C, D>> || {A, B, C, D} <- IPv4>>},
        {ptr, << <<(ip6(Address))/binary>> || Address <- IPv6 >>}
    ].

ip6({_, _, _, _, _, _, _, _} = Address) ->
    << <<Word:16/big>> || Word <- tuple_to_list(Address) >>.

c_string(Data) ->
    <<(iolist_to_binary(Data))/binary, 0>>.
