//! Least privilege for `serve` (issue #14). The daemon needs root to bind
//! devices to vfio-pci, open VFIO groups, usbfs devices and /dev/cuse, and
//! give the nodes their owner; after that everything it does goes through
//! descriptors it holds. So once the nodes are up it becomes an
//! unprivileged user (`outboard`, or `nobody` when that account does not
//! exist), with no supplementary groups and no capabilities, sets
//! no_new_privs, and installs a seccomp filter on every thread that lets
//! through only the system calls a serving daemon makes; any other call
//! fails with EPERM (nothing is killed: a call the list forgot is an error
//! in the log, not a silent daemon).
//!
//! What stays possible as that user, through the descriptors: usbfs
//! ioctls (the kernel checks the opener, not the caller), VFIO device and
//! container ioctls (DMA buffers are all mapped at start), CUSE requests
//! and replies, reads of /proc/PID for the clients' names. The engine
//! threads got SCHED_FIFO before; RLIMIT_RTPRIO is raised to their priority
//! so that a thread started later may ask again.

use std::collections::BTreeMap;
use std::ffi::CString;

/// The engine's SCHED_FIFO priority, which RLIMIT_RTPRIO must allow.
const RT_PRIORITY: u64 = outboard_mixer::engine::REALTIME_PRIORITY as u64;

/// Capability numbers (linux/capability.h) the /proc helper keeps.
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;

/// Who the daemon became.
#[derive(Debug)]
pub struct Dropped {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    /// Whether the seccomp filter is installed (not on architectures
    /// seccompiler does not know).
    pub seccomp: bool,
}

/// An account's uid and primary gid.
fn account(name: &str) -> Result<Option<(u32, u32)>, String> {
    let c = CString::new(name).map_err(|_| format!("user {name:?}: not a user name"))?;
    let mut pwd: libc::passwd = unsafe_zeroed_passwd();
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `c` is NUL-terminated,
    // `pwd` and `found` are local, `buf` is as long as the length given.
    let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    // getpwnam_r(3): "not found" may come back as 0 with no entry, or as
    // one of these errors, depending on the name service.
    if matches!(rc, libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM) {
        return Ok(None);
    }
    if rc != 0 {
        return Err(format!("looking up user {name:?}: {}", std::io::Error::from_raw_os_error(rc)));
    }
    Ok((!found.is_null()).then_some((pwd.pw_uid, pwd.pw_gid)))
}

fn unsafe_zeroed_passwd() -> libc::passwd {
    // SAFETY: passwd is plain data (integers and pointers); all-zero is a
    // valid value that getpwnam_r overwrites.
    unsafe { std::mem::zeroed() }
}

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// The account the daemon will become.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
}

/// Which account to become: `wanted` (an error if it does not exist), or
/// with none named `outboard` if it exists, else `nobody`. Looked up before
/// any device is touched, so a wrong name costs nothing.
pub fn resolve(wanted: Option<&str>) -> Result<Account, String> {
    let (user, (uid, gid)) = match wanted {
        Some(name) => {
            let ids = account(name)?.ok_or(format!("user {name:?} does not exist (`user` in the settings)"))?;
            (name.to_string(), ids)
        }
        None => match account("outboard")? {
            Some(ids) => ("outboard".to_string(), ids),
            None => {
                let ids = account("nobody")?.ok_or("neither user \"outboard\" nor \"nobody\" exists: set `user`")?;
                log::info!("no user \"outboard\" (packaging/ creates it): serving as \"nobody\"");
                ("nobody".to_string(), ids)
            }
        },
    };
    Ok(Account { user, uid, gid })
}

/// Become `account`, then seal the process: no_new_privs and the seccomp
/// filter (`root` keeps its uid but is sealed too). Called from the main
/// thread once every descriptor is open; the uid and gid change on every
/// thread (glibc applies set*id to all of them).
pub fn drop_privileges(account: &Account) -> Result<Dropped, String> {
    let Account { user, uid, gid } = account.clone();
    if !is_root() {
        // Started unprivileged (a user given /dev/cuse and the devices):
        // nothing to give up but the calls outside the list.
        // SAFETY: getuid and getgid return integers.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        no_new_privs()?;
        let seccomp = install(&lists::daemon())?;
        return Ok(Dropped { user: "the user that started it".to_string(), uid, gid, seccomp });
    }
    keep_rtprio();
    if uid != 0 {
        become_user(account, &[])?;
        // All three uids are not 0 now: the kernel cleared the permitted
        // and effective capabilities. Make sure there is no way back.
        // SAFETY: setuid and geteuid take and return integers.
        if unsafe { libc::setuid(0) } == 0 || unsafe { libc::geteuid() } != uid {
            return Err(format!("still able to become root after becoming {user:?}"));
        }
        let caps = capabilities()?;
        if caps.iter().any(|&(_, mask)| mask != 0) {
            return Err(format!("capabilities left after becoming {user:?}: {caps:?}"));
        }
    }
    no_new_privs()?;
    let seccomp = install(&lists::daemon())?;
    Ok(Dropped { user, uid, gid, seccomp })
}

/// Whether the daemon runs as root (and so has privileges to give up).
pub fn is_root() -> bool {
    // SAFETY: geteuid returns an integer.
    unsafe { libc::geteuid() == 0 }
}

/// Let the engine threads keep (or ask again for) their SCHED_FIFO
/// priority as an unprivileged user: RLIMIT_RTPRIO at least that high.
fn keep_rtprio() {
    let mut rt = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit fills in the local `rt`.
    if unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut rt) } != 0 {
        log::info!("{}", os_error("reading RLIMIT_RTPRIO"));
        return;
    }
    if rt.rlim_cur >= RT_PRIORITY {
        return;
    }
    // Root may raise the hard limit; otherwise the soft one goes as high as
    // the hard one allows.
    let max = rt.rlim_max.max(RT_PRIORITY);
    let raised = libc::rlimit { rlim_cur: RT_PRIORITY, rlim_max: max };
    let fallback = libc::rlimit { rlim_cur: RT_PRIORITY.min(rt.rlim_max), rlim_max: rt.rlim_max };
    // SAFETY: setrlimit reads the local rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTPRIO, &raised) } == 0 {
        return;
    }
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTPRIO, &fallback) } != 0 {
        log::info!("{}", os_error("raising RLIMIT_RTPRIO"));
    }
}

/// Become `account` (no supplementary groups), keeping the capabilities
/// in `keep` and no others: none are inheritable or ambient, so nothing
/// the process could exec would get any.
fn become_user(account: &Account, keep: &[u32]) -> Result<(), String> {
    let Account { user, uid, gid } = account;
    // SAFETY: prctl, setgroups, setresgid and setresuid with integer
    // arguments (setgroups with an empty list and a null pointer).
    unsafe {
        if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 {
            return Err(os_error("clearing ambient capabilities"));
        }
        if libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(!keep.is_empty()), 0, 0, 0) != 0 {
            return Err(os_error("setting keepcaps"));
        }
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(os_error("dropping supplementary groups"));
        }
        if libc::setresgid(*gid, *gid, *gid) != 0 {
            return Err(os_error(&format!("becoming group {gid}")));
        }
        if libc::setresuid(*uid, *uid, *uid) != 0 {
            return Err(os_error(&format!("becoming user {user:?}")));
        }
    }
    if keep.is_empty() {
        return Ok(());
    }
    let mask = keep.iter().fold(0u32, |m, &c| m | 1 << c);
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let data = [
        Data { effective: mask, permitted: mask, inheritable: 0 },
        Data { effective: 0, permitted: 0, inheritable: 0 },
    ];
    // SAFETY: capset reads a version-3 header and two data words, both
    // local and laid out as linux/capability.h declares them.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(os_error("setting capabilities"));
    }
    Ok(())
}

/// The process's capability sets, from /proc/self/status.
fn capabilities() -> Result<Vec<(String, u64)>, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    Ok(status
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            let name = name.strip_prefix("Cap")?;
            Some((name.to_string(), u64::from_str_radix(value.trim(), 16).ok()?))
        })
        .filter(|(name, _)| name != "Bnd")
        .collect())
}

/// A filter that lets `calls` through and fails everything else with
/// EPERM, on every thread of the process (TSYNC). Architectures
/// seccompiler does not know go without one (false), and say so.
fn install(calls: &[libc::c_long]) -> Result<bool, String> {
    let Ok(arch) = seccompiler::TargetArch::try_from(std::env::consts::ARCH) else {
        log::warn!("no seccomp filter on {}: seccompiler does not know it", std::env::consts::ARCH);
        return Ok(false);
    };
    // c_long is i32 on 32-bit targets, i64 here.
    #[allow(clippy::useless_conversion)]
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        calls.iter().map(|&nr| (i64::from(nr), Vec::new())).collect();
    let filter = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Errno(libc::EPERM as u32),
        seccompiler::SeccompAction::Allow,
        arch,
    )
    .map_err(|e| format!("seccomp filter: {e}"))?;
    let program: seccompiler::BpfProgram = filter.try_into().map_err(|e| format!("seccomp filter: {e}"))?;
    seccompiler::apply_filter_all_threads(&program).map_err(|e| format!("installing the seccomp filter: {e}"))?;
    Ok(true)
}

/// The one thing the daemon still needs root for once it serves: telling
/// whether a caller's descriptors on an ALSA node are non-blocking now
/// (ioctls do not carry the file's flags; alsa-lib opens non-blocking and
/// clears the flag later), which takes reading another user's
/// /proc/PID/fd. A child forked at start, before any thread, keeps root
/// for that alone: it answers "pid, node" questions over a datagram socket
/// pair, as the daemon's user with only the two capabilities that reading
/// another user's /proc/PID/fd takes (CAP_SYS_PTRACE for the access check,
/// CAP_DAC_READ_SEARCH for the directory's and fdinfo's modes), under
/// no_new_privs and a seccomp filter of its own that allows little more
/// than reading /proc and answering.
pub struct Helper {
    socket: std::sync::Mutex<(std::os::unix::net::UnixDatagram, u32)>,
}

/// How long the daemon waits for the helper's answer before it goes on
/// without one (then a non-blocking open stays non-blocking).
const HELPER_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

impl Helper {
    /// Fork the helper, which becomes `account` with its two capabilities.
    /// Call before any thread exists.
    pub fn spawn(account: &Account) -> Result<std::sync::Arc<Helper>, String> {
        let (ours, theirs) = seqpacket_pair()?;
        // SAFETY: getpid has no preconditions.
        let daemon = unsafe { libc::getpid() };
        // SAFETY: no other thread exists yet (the caller's contract), so
        // the child may run ordinary Rust code until it exits.
        match unsafe { libc::fork() } {
            -1 => Err(os_error("forking the /proc helper")),
            0 => {
                drop(ours);
                helper_main(theirs, daemon, account)
            }
            _ => {
                drop(theirs);
                ours.set_read_timeout(Some(HELPER_DEADLINE)).map_err(|e| format!("the /proc helper's socket: {e}"))?;
                Ok(std::sync::Arc::new(Helper { socket: std::sync::Mutex::new((ours, 0)) }))
            }
        }
    }

    /// Whether `pid`'s descriptors on `node` are all non-blocking; `None`
    /// when the helper cannot tell (or does not answer in time).
    pub fn nonblocking(&self, pid: u32, node: &str) -> Option<bool> {
        let mut guard = self.socket.lock().unwrap_or_else(|e| e.into_inner());
        let (socket, seq) = &mut *guard;
        *seq = seq.wrapping_add(1);
        let mut question = Vec::with_capacity(8 + node.len());
        question.extend_from_slice(&seq.to_le_bytes());
        question.extend_from_slice(&pid.to_le_bytes());
        question.extend_from_slice(node.as_bytes());
        socket.send(&question).ok()?;
        let deadline = std::time::Instant::now() + HELPER_DEADLINE;
        let mut answer = [0u8; 5];
        // Answers to questions that timed out earlier are skipped.
        while std::time::Instant::now() < deadline {
            let n = socket.recv(&mut answer).ok()?;
            if n == 5 && answer[..4] == seq.to_le_bytes() {
                return match answer[4] {
                    0 => Some(false),
                    1 => Some(true),
                    _ => None,
                };
            }
        }
        None
    }
}

/// A connected pair of sequenced-packet sockets: datagrams with an end
/// (a read returns 0 once the other side is closed).
fn seqpacket_pair() -> Result<(std::os::unix::net::UnixDatagram, std::os::unix::net::UnixDatagram), String> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints for socketpair to fill in.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) } != 0 {
        return Err(os_error("the /proc helper's socket"));
    }
    // SAFETY: both descriptors were just created and are owned by nobody
    // else; each is wrapped once (send and recv work on any socket type).
    Ok(unsafe {
        (std::os::unix::net::UnixDatagram::from_raw_fd(fds[0]), std::os::unix::net::UnixDatagram::from_raw_fd(fds[1]))
    })
}

/// The helper's life: answer until the daemon's end of the socket closes
/// (or the daemon dies: PR_SET_PDEATHSIG, and a check that it has not
/// already).
fn helper_main(socket: std::os::unix::net::UnixDatagram, daemon: libc::pid_t, account: &Account) -> ! {
    // SAFETY: prctl, getppid, open and dup2 with integer arguments and a
    // NUL-terminated path; the child owns its descriptors 0 and 1.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != daemon {
            libc::_exit(0);
        }
        libc::prctl(libc::PR_SET_NAME, c"outboard-proc".as_ptr(), 0, 0, 0);
        // Nothing to say on standard output: do not hold the daemon's.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::close(null);
        }
    }
    let sealed = become_user(account, &[CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH])
        .and_then(|()| no_new_privs())
        .and_then(|()| install(&lists::helper()).map(drop));
    if let Err(e) = sealed {
        log::error!("the /proc helper: {e}");
        // SAFETY: ends this child process only.
        unsafe { libc::_exit(1) };
    }
    let mut question = [0u8; 512];
    loop {
        let n = match socket.recv(&mut question) {
            Ok(n) if n >= 8 => n,
            Ok(0) | Err(_) => break,
            Ok(_) => continue,
        };
        let pid = u32::from_le_bytes([question[4], question[5], question[6], question[7]]);
        let node = std::str::from_utf8(&question[8..n]).unwrap_or("");
        let verdict = match outboard_alsa::pcm::nonblocking_now(pid, node) {
            Some(false) => 0,
            Some(true) => 1,
            None => 2,
        };
        let mut answer = [0u8; 5];
        answer[..4].copy_from_slice(&question[..4]);
        answer[4] = verdict;
        if socket.send(&answer).is_err() {
            break;
        }
    }
    // SAFETY: ends this child process only, without running the parent's
    // exit handlers or destructors a second time.
    unsafe { libc::_exit(0) }
}

fn no_new_privs() -> Result<(), String> {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(os_error("setting no_new_privs"));
    }
    Ok(())
}

/// The system-call lists, on the architectures seccompiler knows (x86_64,
/// aarch64, riscv64). Elsewhere (32-bit ARM boards) there is no filter, and
/// some of these numbers do not exist there.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64"))]
mod lists {
    /// The system calls a serving daemon makes (its own, the standard
    /// library's and glibc's on their behalf), everywhere.
    pub(super) fn daemon() -> Vec<libc::c_long> {
        let mut v = vec![
            // Descriptors: requests, replies, ioctls, /proc reads.
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_readv,
            libc::SYS_writev,
            libc::SYS_pread64,
            libc::SYS_pwrite64,
            libc::SYS_close,
            libc::SYS_ioctl,
            libc::SYS_fcntl,
            libc::SYS_dup,
            libc::SYS_dup3,
            libc::SYS_lseek,
            libc::SYS_openat,
            libc::SYS_newfstatat,
            libc::SYS_fstat,
            libc::SYS_statx,
            libc::SYS_getdents64,
            libc::SYS_readlinkat,
            libc::SYS_unlinkat,
            libc::SYS_eventfd2,
            libc::SYS_pipe2,
            libc::SYS_ppoll,
            libc::SYS_pselect6,
            libc::SYS_epoll_create1,
            libc::SYS_epoll_ctl,
            libc::SYS_epoll_pwait,
            // The control socket (SO_PEERCRED) and socket pairs.
            libc::SYS_accept4,
            libc::SYS_recvfrom,
            libc::SYS_recvmsg,
            libc::SYS_sendto,
            libc::SYS_sendmsg,
            libc::SYS_getsockopt,
            libc::SYS_setsockopt,
            libc::SYS_getsockname,
            libc::SYS_getpeername,
            libc::SYS_shutdown,
            libc::SYS_socketpair,
            // Memory.
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_mprotect,
            libc::SYS_madvise,
            libc::SYS_brk,
            libc::SYS_membarrier,
            // Threads (request threads come and go), scheduling, time.
            libc::SYS_clone,
            libc::SYS_clone3,
            libc::SYS_set_robust_list,
            libc::SYS_rseq,
            libc::SYS_set_tid_address,
            libc::SYS_futex,
            libc::SYS_sched_yield,
            libc::SYS_sched_getaffinity,
            libc::SYS_sched_setaffinity,
            libc::SYS_sched_setscheduler,
            libc::SYS_sched_getscheduler,
            libc::SYS_sched_setparam,
            libc::SYS_sched_getparam,
            libc::SYS_sched_get_priority_max,
            libc::SYS_sched_get_priority_min,
            libc::SYS_prctl,
            libc::SYS_prlimit64,
            libc::SYS_clock_gettime,
            libc::SYS_clock_getres,
            libc::SYS_clock_nanosleep,
            libc::SYS_nanosleep,
            libc::SYS_gettimeofday,
            libc::SYS_getrandom,
            libc::SYS_uname,
            libc::SYS_sysinfo,
            // Signals (the stop signal, interrupting a blocked request thread).
            libc::SYS_rt_sigaction,
            libc::SYS_rt_sigprocmask,
            libc::SYS_rt_sigreturn,
            libc::SYS_sigaltstack,
            libc::SYS_tgkill,
            libc::SYS_tkill,
            libc::SYS_restart_syscall,
            // Who am I.
            libc::SYS_getpid,
            libc::SYS_gettid,
            libc::SYS_getuid,
            libc::SYS_geteuid,
            libc::SYS_getgid,
            libc::SYS_getegid,
            libc::SYS_exit,
            libc::SYS_exit_group,
        ];
        #[cfg(target_arch = "x86_64")]
        v.extend([
            libc::SYS_poll,
            libc::SYS_select,
            libc::SYS_open,
            libc::SYS_stat,
            libc::SYS_lstat,
            libc::SYS_access,
            libc::SYS_pipe,
            libc::SYS_dup2,
            libc::SYS_epoll_wait,
            libc::SYS_readlink,
            libc::SYS_unlink,
            libc::SYS_getrlimit,
            libc::SYS_arch_prctl,
        ]);
        v
    }

    /// What the helper calls: its socket, reading /proc, memory, exit.
    pub(super) fn helper() -> Vec<libc::c_long> {
        let mut v = vec![
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_recvfrom,
            libc::SYS_recvmsg,
            libc::SYS_sendto,
            libc::SYS_sendmsg,
            libc::SYS_openat,
            libc::SYS_close,
            libc::SYS_fstat,
            libc::SYS_newfstatat,
            libc::SYS_statx,
            libc::SYS_getdents64,
            libc::SYS_readlinkat,
            libc::SYS_lseek,
            libc::SYS_fcntl,
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_brk,
            libc::SYS_madvise,
            libc::SYS_futex,
            libc::SYS_rt_sigreturn,
            libc::SYS_rt_sigprocmask,
            libc::SYS_sigaltstack,
            libc::SYS_getpid,
            libc::SYS_gettid,
            libc::SYS_tgkill,
            libc::SYS_clock_gettime,
            libc::SYS_getrandom,
            libc::SYS_exit,
            libc::SYS_exit_group,
        ];
        #[cfg(target_arch = "x86_64")]
        v.extend([libc::SYS_open, libc::SYS_stat, libc::SYS_lstat, libc::SYS_readlink]);
        v
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
mod lists {
    pub(super) fn daemon() -> Vec<libc::c_long> {
        Vec::new()
    }
    pub(super) fn helper() -> Vec<libc::c_long> {
        Vec::new()
    }
}
