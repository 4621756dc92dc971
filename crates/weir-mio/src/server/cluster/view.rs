//! [`View`]: the other nodes' room members, as their membership notes
//! tell them, so that room counts and member lists span the cluster
//! without a round trip to Redis (nothing on an event loop waits for it).
//!
//! A node's members are forgotten when it says it is leaving, and when it
//! has not been heard from (every note counts; an idle node sends a
//! heartbeat) for the expiry: a node that crashed drops out of every count
//! within it. The time is always passed in, so that the expiry is tested
//! on a simulated clock.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::wire::Membership;
use crate::ConnId;

/// The other nodes' members, by node.
pub(crate) struct View {
    nodes: HashMap<u8, Node>,
    expiry: Duration,
}

/// What one other node said.
struct Node {
    /// When it was last heard from.
    seen: Instant,
    /// Its members, by room (sorted, for member lists).
    rooms: HashMap<String, BTreeSet<ConnId>>,
}

impl View {
    /// An empty view, forgetting a node not heard from for `expiry`.
    pub(crate) fn new(expiry: Duration) -> Self {
        Self {
            nodes: HashMap::new(),
            expiry,
        }
    }

    /// Takes in node `origin`'s note, heard at `now`.
    pub(crate) fn apply(&mut self, origin: u8, membership: Membership, now: Instant) {
        if membership == Membership::Leaving {
            self.nodes.remove(&origin);
            return;
        }
        let node = self.nodes.entry(origin).or_insert_with(|| Node {
            seen: now,
            rooms: HashMap::new(),
        });
        node.seen = now;
        match membership {
            Membership::Joined { room, id } => {
                node.rooms.entry(room).or_default().insert(id);
            }
            Membership::Left { room, id } => {
                if let Some(members) = node.rooms.get_mut(&room) {
                    members.remove(&id);
                    if members.is_empty() {
                        node.rooms.remove(&room);
                    }
                }
            }
            Membership::Rooms(rooms) => {
                node.rooms = rooms
                    .into_iter()
                    .filter(|(_, ids)| !ids.is_empty())
                    .map(|(room, ids)| (room, ids.into_iter().collect()))
                    .collect();
            }
            Membership::Alive | Membership::Asking | Membership::Leaving => {}
        }
    }

    /// Forgets the nodes not heard from since `now - expiry`.
    pub(crate) fn expire(&mut self, now: Instant) {
        let expiry = self.expiry;
        self.nodes
            .retain(|_, node| now.saturating_duration_since(node.seen) < expiry);
    }

    /// Every node's members of `room` still heard from at `now`.
    fn members_of<'a>(
        &'a self,
        room: &'a str,
        now: Instant,
    ) -> impl Iterator<Item = &'a BTreeSet<ConnId>> + 'a {
        self.nodes
            .values()
            .filter(move |node| now.saturating_duration_since(node.seen) < self.expiry)
            .filter_map(move |node| node.rooms.get(room))
    }

    /// How many members `room` has on the other nodes.
    pub(crate) fn count(&self, room: &str, now: Instant) -> usize {
        self.members_of(room, now).map(BTreeSet::len).sum()
    }

    /// The ids of `room`'s members on the other nodes.
    pub(crate) fn members(&self, room: &str, now: Instant) -> Vec<ConnId> {
        self.members_of(room, now).flatten().copied().collect()
    }

    /// Whether `id` is a member of `room` on another node.
    pub(crate) fn contains(&self, room: &str, id: ConnId, now: Instant) -> bool {
        self.members_of(room, now)
            .any(|members| members.contains(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(node: usize, slot: usize) -> ConnId {
        ConnId::new(node, 0, slot, 1)
    }

    #[test]
    fn joins_leaves_and_a_list_of_rooms_make_the_counts() {
        let start = Instant::now();
        let mut view = View::new(Duration::from_secs(3));
        let joined = |room: &str, slot| Membership::Joined {
            room: room.into(),
            id: id(2, slot),
        };
        view.apply(2, joined("lobby", 1), start);
        view.apply(2, joined("lobby", 2), start);
        view.apply(2, joined("lobby", 2), start);
        view.apply(
            3,
            Membership::Rooms(vec![("lobby".into(), vec![id(3, 1)])]),
            start,
        );
        assert_eq!(view.count("lobby", start), 3);
        assert_eq!(view.members("lobby", start).len(), 3);
        assert!(view.contains("lobby", id(3, 1), start));
        view.apply(
            2,
            Membership::Left {
                room: "lobby".into(),
                id: id(2, 1),
            },
            start,
        );
        assert_eq!(view.count("lobby", start), 2);
        view.apply(3, Membership::Rooms(vec![]), start);
        assert_eq!(view.count("lobby", start), 1);
        view.apply(2, Membership::Leaving, start);
        assert_eq!(view.count("lobby", start), 0);
    }

    #[test]
    fn a_node_not_heard_from_for_the_expiry_drops_out() {
        let start = Instant::now();
        let expiry = Duration::from_secs(3);
        let mut view = View::new(expiry);
        for node in [2, 3] {
            let rooms = vec![("lobby".into(), vec![id(node.into(), 1)])];
            view.apply(node, Membership::Rooms(rooms), start);
        }
        let later = start + Duration::from_secs(2);
        view.apply(3, Membership::Alive, later);
        assert_eq!(
            view.count("lobby", start + expiry - Duration::from_millis(1)),
            2
        );
        // Node 2 is silent from `start`, node 3 from `later`.
        assert_eq!(view.count("lobby", start + expiry), 1);
        assert_eq!(view.count("lobby", later + expiry), 0);
        view.expire(start + expiry);
        assert_eq!(view.nodes.len(), 1, "node 2 forgotten");
    }
}
