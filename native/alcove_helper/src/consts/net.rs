//! socket(2) domains and types, in one table: `socket/5` looks both its
//! Domain and its Type up here.

pub static SOCKET: &[(&str, i64)] = &[
    ("af_unspec", libc::AF_UNSPEC as i64),
    ("af_unix", libc::AF_UNIX as i64),
    ("af_local", libc::AF_LOCAL as i64),
    ("af_inet", libc::AF_INET as i64),
    ("af_inet6", libc::AF_INET6 as i64),
    ("af_netlink", libc::AF_NETLINK as i64),
    ("af_packet", libc::AF_PACKET as i64),
    ("af_key", libc::AF_KEY as i64),
    ("af_can", libc::AF_CAN as i64),
    ("af_tipc", libc::AF_TIPC as i64),
    ("af_bluetooth", libc::AF_BLUETOOTH as i64),
    ("af_alg", libc::AF_ALG as i64),
    ("af_vsock", libc::AF_VSOCK as i64),
    ("af_xdp", libc::AF_XDP as i64),
    ("sock_stream", libc::SOCK_STREAM as i64),
    ("sock_dgram", libc::SOCK_DGRAM as i64),
    ("sock_raw", libc::SOCK_RAW as i64),
    ("sock_rdm", libc::SOCK_RDM as i64),
    ("sock_seqpacket", libc::SOCK_SEQPACKET as i64),
    ("sock_nonblock", libc::SOCK_NONBLOCK as i64),
    ("sock_cloexec", libc::SOCK_CLOEXEC as i64),
];
