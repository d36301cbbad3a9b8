//! A flag that asks long text work (training a model, clustering a district's window) to
//! give up at its next check, so a server shutting down does not wait minutes for it.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// Asks a long piece of work to give up at its next check. Clones share it.
#[derive(Debug, Clone)]
pub struct Stop(Arc<StopState>);

#[derive(Debug)]
struct StopState {
    stopped: AtomicBool,
    /// Checks left before the flag sets itself; negative: no limit.
    checks_left: AtomicI64,
}

impl Default for Stop {
    fn default() -> Stop {
        Stop::after_checks(-1)
    }
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// A flag that sets itself at the `n`-th check (0: already set; negative: never), so a
    /// test can stop the work at each of its checks in turn without timing anything.
    pub fn after_checks(n: i64) -> Stop {
        Stop(Arc::new(StopState {
            stopped: AtomicBool::new(n == 0),
            checks_left: AtomicI64::new(n),
        }))
    }

    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
    }

    /// Counts as one check (see [`Stop::after_checks`]).
    pub fn is_stopped(&self) -> bool {
        if self.0.stopped.load(Ordering::SeqCst) {
            return true;
        }
        if self.0.checks_left.load(Ordering::SeqCst) > 0
            && self.0.checks_left.fetch_sub(1, Ordering::SeqCst) == 1
        {
            self.stop();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::Stop;

    #[test]
    fn sets_itself_at_the_nth_check_and_stays_set() {
        let s = Stop::after_checks(3);
        assert!(!s.is_stopped());
        assert!(!s.is_stopped());
        assert!(s.is_stopped());
        assert!(s.is_stopped());
        assert!(Stop::after_checks(0).is_stopped());
        let never = Stop::new();
        assert!((0..1000).all(|_| !never.is_stopped()));
        let shared = never.clone();
        shared.stop();
        assert!(never.is_stopped());
    }
}
