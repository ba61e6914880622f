//! Least privilege for engines. A root agent starts each engine as an unprivileged user
//! holding only the capabilities its elements need (CAP_NET_RAW for packet sockets, plus
//! CAP_NET_ADMIN for engines that set interface flags), in a directory of its own.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use caps::{CapSet, Capability, CapsHashSet};

/// Default engine identity: `nobody`/`nogroup` (65534), numeric so a guest without
/// /etc/passwd works too.
pub const NOBODY: u32 = 65534;

/// Who an engine runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineUser {
    pub uid: u32,
    pub gid: u32,
    /// Capabilities kept (as ambient capabilities, so they survive `exec`).
    pub caps: CapsHashSet,
}

impl EngineUser {
    pub fn new(uid: u32, gid: u32, caps: &[Capability]) -> Self {
        EngineUser {
            uid,
            gid,
            caps: caps.iter().copied().collect::<HashSet<_>>(),
        }
    }

    /// Gives `dir` (fresh, created by the agent) to the engine: owner, mode 0700.
    pub fn own_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::os::unix::fs::chown(dir, Some(self.uid), Some(self.gid))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }

    /// Switches the calling (forked, single-threaded) process to this user, keeping only
    /// `caps`, and forbids regaining privileges (no_new_privs). Only raw syscalls that do not
    /// allocate on success: safe between fork and exec.
    pub fn become_in_child(&self) -> std::io::Result<()> {
        let os = std::io::Error::last_os_error;
        let check = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(os()) };
        // Bounding set first (needs CAP_SETPCAP, gone after setuid): nothing else can come back.
        for i in 0..=63u8 {
            if !self.caps.iter().any(|c| c.index() == i) {
                // SAFETY: prctl with integer arguments; EINVAL past the last capability is fine.
                unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(i), 0, 0, 0) };
            }
        }
        let groups = [self.gid as libc::gid_t];
        // SAFETY: plain credential syscalls on the current process with valid pointers.
        unsafe {
            check(libc::setgroups(1, groups.as_ptr()))?;
            check(libc::setresgid(self.gid, self.gid, self.gid))?;
            check(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0))?;
            check(libc::setresuid(self.uid, self.uid, self.uid))?;
        }
        let cap_err = |_| os();
        caps::set(None, CapSet::Permitted, &self.caps).map_err(cap_err)?;
        caps::set(None, CapSet::Inheritable, &self.caps).map_err(cap_err)?;
        caps::set(None, CapSet::Effective, &self.caps).map_err(cap_err)?;
        for c in &self.caps {
            caps::raise(None, CapSet::Ambient, *c).map_err(cap_err)?;
        }
        // SAFETY: prctl with integer arguments.
        unsafe { check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) }
    }
}

/// Whether this process may switch users (only a root agent drops engines' privileges).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// What a root agent keeps after start-up: starting engines as another user with chosen
/// capabilities (SETUID, SETGID, SETPCAP, and NET_RAW/NET_ADMIN/IPC_LOCK to hand on; IPC_LOCK
/// only FastClick's EAL gets), giving them
/// their directory (CHOWN, FOWNER), reaching, signalling and removing what they own
/// (DAC_OVERRIDE, DAC_READ_SEARCH, KILL), kernel forwarding through `tc` (NET_ADMIN) and a
/// low listen port (NET_BIND_SERVICE), and SYS_PTRACE held in the permitted set only, raised
/// on one thread just to size reference Click's packet sockets (`sockbuf`). Everything else
/// (SYS_ADMIN, SYS_MODULE, ...) leaves the bounding set, so neither the agent nor anything it
/// runs can regain it.
pub const AGENT_KEEPS: &[Capability] = &[
    Capability::CAP_SETUID,
    Capability::CAP_SETGID,
    Capability::CAP_SETPCAP,
    Capability::CAP_CHOWN,
    Capability::CAP_FOWNER,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_KILL,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_RAW,
    Capability::CAP_IPC_LOCK,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_PTRACE,
];

/// Kept but not effective: raised only around the call that needs it.
pub const AGENT_RAISES_ON_DEMAND: &[Capability] = &[Capability::CAP_SYS_PTRACE];

/// Drops every capability of this process outside [`AGENT_KEEPS`] (bounding, permitted,
/// effective; inheritable cleared). Called once, before any other thread exists
/// (capabilities are per thread).
pub fn drop_agent_capabilities() -> Result<(), caps::errors::CapsError> {
    let keep: CapsHashSet = AGENT_KEEPS.iter().copied().collect();
    for c in caps::all() {
        if !keep.contains(&c) && caps::has_cap(None, CapSet::Bounding, c).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, c)?;
        }
    }
    let have = caps::read(None, CapSet::Permitted)?;
    let kept: CapsHashSet = have.intersection(&keep).copied().collect();
    let effective: CapsHashSet = kept
        .iter()
        .filter(|c| !AGENT_RAISES_ON_DEMAND.contains(c))
        .copied()
        .collect();
    caps::set(None, CapSet::Effective, &effective)?;
    caps::set(None, CapSet::Permitted, &kept)?;
    caps::clear(None, CapSet::Inheritable)
}
