//! What a fleet run tells as it goes: each cluster's [`Event`]s tagged with its name, the
//! root phase's, and each cluster's result as it ends.

use super::report::{ClusterResult, Orphan};
use crate::observer::{Event, Observer};

/// One thing a fleet run tells.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// An event of the shared phase (root mount, root CA, AppRole auth mount, `ca.crt`).
    Root(&'a Event<'a>),
    /// An event of one cluster's run.
    Cluster {
        /// The cluster.
        name: &'a str,
        /// What happened.
        event: &'a Event<'a>,
    },
    /// A cluster's run ended.
    ClusterDone(&'a ClusterResult),
    /// A cluster an earlier run set up that the file no longer lists.
    Orphan(&'a Orphan),
}

/// Receives a fleet run's events, from several clusters at once.
pub trait FleetObserver: Sync {
    /// Called for each event.
    fn on_fleet_event(&self, event: &FleetEvent<'_>);
}

impl<F: Fn(&FleetEvent<'_>) + Sync> FleetObserver for F {
    fn on_fleet_event(&self, event: &FleetEvent<'_>) {
        self(event)
    }
}

/// Ignores every event.
impl FleetObserver for crate::observer::NoObserver {
    fn on_fleet_event(&self, _: &FleetEvent<'_>) {}
}

/// A run's [`Observer`] that forwards to the fleet's, tagged with the cluster (or the root).
pub(crate) struct Tagged<'a> {
    pub(crate) cluster: Option<&'a str>,
    pub(crate) inner: &'a dyn FleetObserver,
}

impl Observer for Tagged<'_> {
    fn on_event(&self, event: &Event<'_>) {
        let e = match self.cluster {
            None => FleetEvent::Root(event),
            Some(name) => FleetEvent::Cluster { name, event },
        };
        self.inner.on_fleet_event(&e);
    }
}
