//! The answer to one append, handed from the writer thread to the caller:
//! waited on by a thread ([`AppendTicket::wait`]) or awaited by a task
//! (`AppendTicket` is a `Future`), without tying the crate to a runtime.

use super::{Appended, AuditError};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    result: Option<Result<Appended, AuditError>>,
    waker: Option<Waker>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Resolves once the event is durable (or could not be made so).
#[must_use = "the event is durable only once the ticket resolves"]
pub struct AppendTicket {
    slot: Arc<Slot>,
}

/// The writer's end. Dropped unanswered (the writer stopped), it answers
/// [`AuditError::Closed`], so no caller waits forever.
pub(super) struct Reply {
    slot: Option<Arc<Slot>>,
}

pub(super) fn pair() -> (AppendTicket, Reply) {
    let slot = Arc::new(Slot::default());
    (AppendTicket { slot: slot.clone() }, Reply { slot: Some(slot) })
}

impl Reply {
    pub(super) fn send(mut self, result: Result<Appended, AuditError>) {
        if let Some(slot) = self.slot.take() {
            let waker = {
                let mut state = slot.lock();
                state.result = Some(result);
                state.waker.take()
            };
            slot.ready.notify_all();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.slot.is_some() {
            Reply { slot: self.slot.take() }.send(Err(AuditError::Closed));
        }
    }
}

impl AppendTicket {
    /// Blocks the thread until the answer is there.
    pub fn wait(self) -> Result<Appended, AuditError> {
        let mut state = self.slot.lock();
        loop {
            if let Some(r) = state.result.take() {
                return r;
            }
            state = self.slot.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Future for AppendTicket {
    type Output = Result<Appended, AuditError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        match state.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl std::fmt::Debug for AppendTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppendTicket").finish_non_exhaustive()
    }
}
