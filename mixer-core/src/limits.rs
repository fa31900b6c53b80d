//! Client limits: how many audio opens a daemon takes in all and from one
//! user (osspd's `--max` and `--umax`). The OSS and ALSA nodes share one
//! [`Limits`]; an open past either limit gets EBUSY, and what it held is
//! given back when its [`Admitted`] drops (the file is released).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The limits and who holds what under them.
#[derive(Debug)]
pub struct Limits {
    total: usize,
    per_user: usize,
    held: Mutex<HashMap<u32, usize>>,
}

/// Which limit refused an open.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0} audio clients are open, the daemon's limit (max_clients)")]
    Total(usize),
    #[error("user {uid} has {held} audio clients open, the limit for one user (max_clients_per_user)")]
    User { uid: u32, held: usize },
}

/// One open counted under the limits, until it drops.
#[derive(Debug)]
pub struct Admitted {
    limits: Arc<Limits>,
    uid: u32,
}

impl Limits {
    /// At most `total` opens in all and `per_user` from one user.
    pub fn new(total: usize, per_user: usize) -> Arc<Limits> {
        Arc::new(Limits { total, per_user, held: Mutex::new(HashMap::new()) })
    }

    /// No limits (tests, and nodes the daemon did not give any).
    pub fn none() -> Arc<Limits> {
        Limits::new(usize::MAX, usize::MAX)
    }

    /// Count an open by `uid`, or say which limit it would pass.
    pub fn admit(self: &Arc<Self>, uid: u32) -> Result<Admitted, Refused> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = held.values().sum();
        if total >= self.total {
            return Err(Refused::Total(total));
        }
        let mine = held.entry(uid).or_insert(0);
        if *mine >= self.per_user {
            return Err(Refused::User { uid, held: *mine });
        }
        *mine += 1;
        Ok(Admitted { limits: self.clone(), uid })
    }

    /// Opens counted now: in all, and `uid`'s.
    pub fn held(&self, uid: u32) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        (held.values().sum(), held.get(&uid).copied().unwrap_or(0))
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut held = self.limits.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_and_everyone_stop_at_their_limit_and_a_release_gives_back() {
        let limits = Limits::new(5, 3);
        let a: Vec<Admitted> = (0..3).map(|_| limits.admit(1000).unwrap()).collect();
        assert_eq!(limits.admit(1000).unwrap_err(), Refused::User { uid: 1000, held: 3 });
        let b: Vec<Admitted> = (0..2).map(|_| limits.admit(1001).unwrap()).collect();
        assert_eq!(limits.admit(1002).unwrap_err(), Refused::Total(5), "another user, but all are taken");
        assert_eq!(limits.held(1000), (5, 3));
        drop(a);
        assert_eq!(limits.held(1000), (2, 0));
        let c = limits.admit(1000).unwrap();
        assert_eq!(limits.held(1001), (3, 2));
        drop((b, c));
        assert_eq!(limits.held(0), (0, 0));
        assert!(Limits::none().admit(0).is_ok());
    }
}
