//! [`VmDriver`] over libvirt (the `virt` crate). Every libvirt call runs on one dedicated
//! worker thread that owns the connection: libvirt calls block (domain start takes ~100 ms),
//! so they never run on a tokio worker, and the connection is used from one thread only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::error::ErrorNumber;
use virt::sys;

use crate::driver::{DomainInfo, DomainState, VmDriver, VmError};
use crate::image::Image;
use crate::staging::StagedBoot;
use crate::xml::{domain_xml, DomainSpec};

/// The system QEMU driver URI (root; no session daemon).
pub const DEFAULT_URI: &str = "qemu:///system";
/// libvirtd's socket for [`DEFAULT_URI`]: present iff the daemon runs (no systemd here).
pub const SOCKET: &str = "/var/run/libvirt/libvirt-sock";

type Job = Box<dyn FnOnce(&mut Connect) + Send>;

/// libvirt-backed driver; cheap to share (`Arc<LibvirtDriver>`).
pub struct LibvirtDriver {
    jobs: Mutex<Sender<Job>>,
    consoles: Mutex<BTreeMap<String, PathBuf>>,
    uri: String,
    /// The network namespace the connection was opened from (None: this thread's).
    netns: Option<PathBuf>,
    /// Joined on drop: the worker must finish `virConnectClose` before the process exits, or
    /// libvirt's own teardown races it (seen as "double free or corruption" at exit).
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for LibvirtDriver {
    fn drop(&mut self) {
        // Replace (and so drop) the only sender: the worker's job loop ends and it closes.
        let (dummy, _) = channel::<Job>();
        if let Ok(mut jobs) = self.jobs.lock() {
            drop(std::mem::replace(&mut *jobs, dummy));
        }
        let handle = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl LibvirtDriver {
    /// Connects to `uri` (e.g. [`DEFAULT_URI`]) on a new worker thread.
    pub fn connect(uri: &str) -> Result<Self, VmError> {
        Self::connect_from(uri, None)
    }

    /// [`LibvirtDriver::connect`] from inside network namespace `netns`: the worker thread
    /// joins it before opening, so a remote URI's socket reaches an address that exists only
    /// there (a controller's underlay kept out of the host namespace).
    pub fn connect_from(uri: &str, netns: Option<&Path>) -> Result<Self, VmError> {
        // libvirt prints every error to stderr by default ("Domain not found" on idempotent
        // destroys); errors reach callers as `VmError`s anyway.
        virt::error::clear_error_callback();
        let (tx, rx) = channel::<Job>();
        let (ready_tx, ready_rx) = channel::<Result<(), String>>();
        let uri_owned = uri.to_string();
        let ns = netns.map(Path::to_path_buf);
        let worker = std::thread::Builder::new()
            .name("libvirt".into())
            .spawn(move || {
                if let Some(ns) = &ns {
                    if let Err(e) = netsys::netns::enter(ns) {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                }
                let mut conn = match Connect::open(Some(&uri_owned)) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.message().to_string()));
                        return;
                    }
                };
                // Runs until every sender (the driver) is dropped.
                for job in rx {
                    job(&mut conn);
                }
                let _ = conn.close();
            })
            .map_err(|e| VmError::Connect {
                uri: uri.into(),
                message: format!("cannot spawn the libvirt thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(LibvirtDriver {
                jobs: Mutex::new(tx),
                consoles: Mutex::new(BTreeMap::new()),
                uri: uri.into(),
                netns: netns.map(Path::to_path_buf),
                worker: Mutex::new(Some(worker)),
            }),
            Ok(Err(message)) => Err(VmError::Connect {
                uri: uri.into(),
                message,
            }),
            Err(_) => Err(VmError::WorkerGone),
        }
    }

    /// The connection URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// libvirt daemon version as `major.minor.micro`.
    pub fn daemon_version(&self) -> Result<String, VmError> {
        self.call(|c| {
            c.get_lib_version()
                .map(|v| format!("{}.{}.{}", v / 1_000_000, (v / 1000) % 1000, v % 1000))
                .map_err(|e| VmError::Call {
                    name: "(connection)".into(),
                    message: e.message().into(),
                })
        })
    }

    /// Runs `f` on the worker thread and waits for its result.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connect) -> Result<T, VmError> + Send + 'static,
    ) -> Result<T, VmError> {
        let (tx, rx) = channel();
        let job: Job = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        self.jobs
            .lock()
            .map_err(|_| VmError::WorkerGone)?
            .send(job)
            .map_err(|_| VmError::WorkerGone)?;
        rx.recv().map_err(|_| VmError::WorkerGone)?
    }
}

fn map_state(s: sys::virDomainState) -> DomainState {
    match s {
        sys::VIR_DOMAIN_RUNNING => DomainState::Running,
        sys::VIR_DOMAIN_PAUSED => DomainState::Paused,
        sys::VIR_DOMAIN_SHUTDOWN => DomainState::Shutdown,
        sys::VIR_DOMAIN_SHUTOFF => DomainState::Shutoff,
        sys::VIR_DOMAIN_CRASHED => DomainState::Crashed,
        _ => DomainState::Other,
    }
}

fn call_err(name: &str, e: virt::error::Error) -> VmError {
    if e.code() == ErrorNumber::NoDomain {
        VmError::NoSuchDomain(name.into())
    } else {
        VmError::Call {
            name: name.into(),
            message: e.message().into(),
        }
    }
}

impl VmDriver for LibvirtDriver {
    fn destroy_many(&self, names: &[String]) -> Vec<Result<(), VmError>> {
        // A connection serializes its calls: one more connection per further domain lets
        // them go down at once (this one takes the first).
        std::thread::scope(|sc| {
            let handles: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    sc.spawn(move || {
                        if i == 0 {
                            return self.destroy(n);
                        }
                        match LibvirtDriver::connect_from(&self.uri, self.netns.as_deref()) {
                            Ok(c) => c.destroy(n),
                            Err(_) => self.destroy(n),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(VmError::WorkerGone)))
                .collect()
        })
    }

    fn start(&self, spec: &DomainSpec) -> Result<DomainInfo, VmError> {
        let xml = domain_xml(spec);
        let name = spec.name.clone();
        tracing::debug!(domain = %name, "creating transient domain");
        let info = self.call(move |c| {
            let dom = Domain::create_xml(c, &xml, 0).map_err(|e| VmError::Create {
                name: name.clone(),
                message: e.message().into(),
            })?;
            let state = dom
                .get_state()
                .map(|(s, _)| map_state(s))
                .unwrap_or(DomainState::Other);
            Ok(DomainInfo { name, state })
        })?;
        if let Ok(mut m) = self.consoles.lock() {
            m.insert(spec.name.clone(), spec.console_log.clone());
        }
        Ok(info)
    }

    fn destroy(&self, name: &str) -> Result<(), VmError> {
        let n = name.to_string();
        let r = self.call(move |c| {
            let dom = match Domain::lookup_by_name(c, &n) {
                Ok(d) => d,
                Err(e) if e.code() == ErrorNumber::NoDomain => return Ok(()),
                Err(e) => return Err(call_err(&n, e)),
            };
            match dom.destroy() {
                Ok(()) => Ok(()),
                // Raced with the guest powering off: already gone is what we wanted.
                Err(e)
                    if matches!(
                        e.code(),
                        ErrorNumber::NoDomain | ErrorNumber::OperationInvalid
                    ) =>
                {
                    Ok(())
                }
                Err(e) => Err(call_err(&n, e)),
            }
        });
        if let Ok(mut m) = self.consoles.lock() {
            m.remove(name);
        }
        r
    }

    fn list(&self, prefix: &str) -> Result<Vec<DomainInfo>, VmError> {
        let p = prefix.to_string();
        self.call(move |c| {
            let doms = c.list_all_domains(0).map_err(|e| call_err("(list)", e))?;
            let mut out = Vec::new();
            for d in doms {
                let Ok(name) = d.get_name() else { continue };
                if !name.starts_with(&p) {
                    continue;
                }
                let state = d
                    .get_state()
                    .map(|(s, _)| map_state(s))
                    .unwrap_or(DomainState::Other);
                out.push(DomainInfo { name, state });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn state(&self, name: &str) -> Result<DomainState, VmError> {
        let n = name.to_string();
        self.call(move |c| {
            let dom = Domain::lookup_by_name(c, &n).map_err(|e| call_err(&n, e))?;
            dom.get_state()
                .map(|(s, _)| map_state(s))
                .map_err(|e| call_err(&n, e))
        })
    }

    fn console_log(&self, name: &str) -> Option<PathBuf> {
        self.consoles.lock().ok()?.get(name).cloned()
    }

    /// Always copies (once, content-addressed): call it for hypervisors of other machines.
    fn stage_image(&self, image: &Image) -> Result<StagedBoot, VmError> {
        let image = image.clone();
        self.call(move |c| crate::staging::stage_on(c, &image))
    }
}
