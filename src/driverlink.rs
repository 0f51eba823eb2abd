//! The driver boundary: `NativeDriverLink`, the one napi class between a TypeScript driver
//! (`ts/link.ts`) and where its elements go. Two backends sit behind it: stdout/stdin of a
//! driver run by an INDI server ([`crate::stdio::StdioBackend`]) and the hub of an in-process
//! `IPyServer` ([`HubBackend`]). Both take elements as objects or, for the everyday `set*Vector`
//! of values, as positional fields; both hand elements to JavaScript one way: `onReady`, then
//! `take()`, with requests of values as flat strings (the encodings are in `src/wire.rs`).

use crate::wire::{inbound, set_from_fields, Inbound, SetFields, WireElement};
use indi_codec::Element;
use indi_hub::local::LocalDriver;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// A boxed future borrowing its backend.
pub(crate) type Waiting<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a TypeScript driver's elements go, and where those for it come from.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Queues an element the driver sends; false: await [`Backend::drained`] before sending more.
    fn send(&self, element: Element) -> bool;
    /// Waits until the outgoing queue is short again (or the link is closed).
    fn drained(&self) -> Waiting<'_, ()>;
    /// Waits until elements wait for [`Backend::take`]; false once none will come any more.
    fn wait_for_elements(&self) -> Waiting<'_, bool>;
    /// Hands each waiting element (or why one could not be read) to `visit`, in order.
    fn take(&self, visit: &mut dyn FnMut(std::result::Result<&Element, String>));
    /// Ends the link: no more input; output ends after what is already queued.
    fn close(&self);
    /// Waits until everything queued before `close` has been written.
    fn finished(&self) -> Waiting<'_, ()>;
}

/// JS callback told that elements wait for `take()`. Weak: never keeps Node alive.
pub(crate) type ReadyCallback = ThreadsafeFunction<bool, (), bool, Status, false, true>;

/// Whether the inbound side has ended (no element will wait for `take()` any more).
#[derive(Default)]
struct Ended {
    flag: AtomicBool,
    notify: Notify,
}

/// The link of one TypeScript driver.
#[napi]
pub struct NativeDriverLink {
    backend: Arc<dyn Backend>,
    ended: Arc<Ended>,
}

impl NativeDriverLink {
    /// A link over `backend` whose waiting elements are announced to `on_ready`, one call at a
    /// time: the next only once JavaScript has looked (that paces a reader to the JS thread).
    pub(crate) fn new(backend: Arc<dyn Backend>, on_ready: ReadyCallback) -> NativeDriverLink {
        let ended = Arc::new(Ended::default());
        let (pump, done) = (backend.clone(), ended.clone());
        napi::bindgen_prelude::within_runtime_if_available(|| {
            tokio::spawn(async move {
                let looked = Arc::new(Notify::new());
                while pump.wait_for_elements().await {
                    let seen = looked.clone();
                    let status = on_ready.call_with_return_value(true, ThreadsafeFunctionCallMode::NonBlocking, move |_, _| {
                        seen.notify_one();
                        Ok(())
                    });
                    if status != Status::Ok {
                        break;
                    }
                    looked.notified().await;
                }
                done.flag.store(true, Ordering::Release);
                done.notify.notify_waiters();
            });
        });
        NativeDriverLink { backend, ended }
    }
}

#[napi]
impl NativeDriverLink {
    /// The link of a driver run by an INDI server: it reads stdin and writes stdout (on a unix
    /// socket, shared-memory BLOBs come in as libindi's drivers send them).
    #[napi(factory, ts_args_type = "onReady: () => void")]
    pub fn stdio(on_ready: ReadyCallback) -> NativeDriverLink {
        NativeDriverLink::new(crate::stdio::StdioBackend::start(), on_ready)
    }

    /// The elements waiting since the last call, in order: requests of values as flat strings
    /// (see `ts/wire.ts`), elements that could not be read as `{ error }`, the rest as elements.
    #[napi(ts_return_type = "Array<WireElement | string | WireError>")]
    pub fn take(&self) -> Vec<Inbound> {
        let mut batch = Vec::new();
        self.backend.take(&mut |item| batch.push(inbound(item)));
        batch
    }

    /// Queues an element from the driver. False asks the driver to await `drained()`.
    #[napi]
    pub fn send(&self, element: WireElement) -> Result<bool> {
        let element = crate::wire::from_wire(element).map_err(invalid)?;
        Ok(self.backend.send(element))
    }

    /// `send` of a `set*Vector` of values, its fields passed one by one (much quicker across
    /// the boundary than an element object; see `ts/wire.ts`).
    #[napi]
    #[allow(clippy::too_many_arguments, reason = "positional on purpose: see SetFields")]
    pub fn send_set(
        &self,
        tag: String,
        device: String,
        name: String,
        state: Option<String>,
        timeout: Option<f64>,
        timestamp: Option<String>,
        message: Option<String>,
        names: Vec<String>,
        values: Option<Vec<String>>,
        numbers: Option<Vec<f64>>,
    ) -> Result<bool> {
        let fields = SetFields { tag, device, name, state, timeout, timestamp, message, names, values, numbers };
        Ok(self.backend.send(set_from_fields(fields).map_err(invalid)?))
    }

    /// Resolves when the outgoing queue is short again (or the link is closed).
    #[napi]
    pub async fn drained(&self) -> Result<()> {
        self.backend.drained().await;
        Ok(())
    }

    /// Resolves when no element will come any more (stdin ended, or the link was closed).
    #[napi]
    pub async fn ended(&self) -> Result<()> {
        loop {
            let notified = self.ended.notify.notified();
            if self.ended.flag.load(Ordering::Acquire) {
                return Ok(());
            }
            notified.await;
        }
    }

    /// Resolves when everything sent before `close()` has been written.
    #[napi]
    pub async fn finished(&self) -> Result<()> {
        self.backend.finished().await;
        Ok(())
    }

    /// Closes the link: no more input, output ends after what is queued (an in-process
    /// driver's devices are deleted for clients).
    #[napi]
    pub fn close(&self) {
        self.backend.close();
    }
}

/// An element JavaScript built that cannot be sent: a `TypeError`-like `InvalidArg` error.
fn invalid(reason: String) -> Error {
    Error::new(Status::InvalidArg, reason)
}

/// The in-process backend: elements go to the hub and come from it, with no XML between.
pub(crate) struct HubBackend(pub(crate) LocalDriver);

impl Backend for HubBackend {
    fn send(&self, element: Element) -> bool {
        self.0.send(element)
    }

    fn drained(&self) -> Waiting<'_, ()> {
        Box::pin(self.0.drained())
    }

    fn wait_for_elements(&self) -> Waiting<'_, bool> {
        Box::pin(self.0.wait_for_elements())
    }

    fn take(&self, visit: &mut dyn FnMut(std::result::Result<&Element, String>)) {
        let mut batch = Vec::new();
        self.0.take(&mut batch);
        // Members are parsed here, once, only for in-process drivers.
        for frame in &batch {
            visit(frame.element().map_err(|error| error.to_string()));
        }
    }

    fn close(&self) {
        self.0.detach();
    }

    fn finished(&self) -> Waiting<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}
