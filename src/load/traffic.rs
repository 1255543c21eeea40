//! What the load generator publishes, decided by a seed alone: flapping alarms, duplicates,
//! late deliveries and digest requests, as wire payloads. No IO, so it is tested here and
//! reused by the benchmark.

use domain::{EventTime, Status};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// The shape of the traffic: who, how much, and how messy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficShape {
    /// Users, named `user-000000` upwards.
    pub users: usize,
    /// Alarms per user, named `alarm-0000` upwards.
    pub alarms_per_user: usize,
    /// AlarmStatusChanged messages in all, duplicates included.
    pub events: u64,
    /// Percent of events that repeat a recently published event byte for byte.
    pub duplicate_percent: u8,
    /// Percent of fresh events held back and published after up to [`MAX_DELAY`] later messages.
    pub late_percent: u8,
    /// One SendAlarmDigest after every this many events; 0 for none.
    pub digest_every: u64,
    /// Seeds every choice.
    pub seed: u64,
    /// `ChangedAt` of the first event, nanoseconds since the Unix epoch.
    pub start_nanos: i64,
}

impl Default for TrafficShape {
    fn default() -> Self {
        Self {
            users: 100,
            alarms_per_user: 20,
            events: 100_000,
            duplicate_percent: 10,
            late_percent: 10,
            digest_every: 100,
            seed: 1,
            // 2024-01-01T00:00:00Z
            start_nanos: 1_704_067_200_000_000_000,
        }
    }
}

/// How many later messages a late event is overtaken by, at most.
pub const MAX_DELAY: u64 = 32;
/// How far back a duplicate reaches, in events.
const DUPLICATE_WINDOW: usize = 64;

/// Which subject a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An AlarmStatusChanged seen for the first time.
    Event,
    /// An AlarmStatusChanged repeated byte for byte.
    Duplicate,
    /// An AlarmStatusChanged published after messages that were generated after it.
    Late,
    /// A SendAlarmDigest.
    DigestRequest,
}

impl Kind {
    /// Whether it goes to the AlarmStatusChanged subject.
    pub fn is_event(self) -> bool {
        self != Kind::DigestRequest
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is.
    pub kind: Kind,
    /// The JSON body.
    pub payload: Vec<u8>,
}

/// How many messages of each kind were produced so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Fresh events published in order.
    pub events: u64,
    /// Repeated events.
    pub duplicates: u64,
    /// Fresh events published late.
    pub late: u64,
    /// Digest requests.
    pub digest_requests: u64,
}

impl Tally {
    /// AlarmStatusChanged messages of every kind.
    pub fn all_events(&self) -> u64 {
        self.events + self.duplicates + self.late
    }

    /// Every message.
    pub fn messages(&self) -> u64 {
        self.all_events() + self.digest_requests
    }

    fn count(&mut self, kind: Kind) {
        match kind {
            Kind::Event => self.events += 1,
            Kind::Duplicate => self.duplicates += 1,
            Kind::Late => self.late += 1,
            Kind::DigestRequest => self.digest_requests += 1,
        }
    }
}

/// xorshift64*: small, fast and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so nearby seeds start far apart and 0 is fine.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn percent(&mut self, p: u8) -> bool {
        self.below(100) < u64::from(p)
    }
}

const SERVICES: [&str; 5] = ["storage", "network", "database", "compute", "billing"];

/// The messages of one [`TrafficShape`], in publishing order; the same shape always
/// gives the same messages.
#[derive(Debug, Clone)]
pub struct Traffic {
    shape: TrafficShape,
    rng: Rng,
    /// Last status of each alarm, so each change flaps to a different one.
    last_status: Vec<Option<Status>>,
    clock: i64,
    recent: VecDeque<Vec<u8>>,
    /// Late events with the number of messages still to pass before them.
    held: VecDeque<(u64, Vec<u8>)>,
    events_made: u64,
    since_request: u64,
    tally: Tally,
}

impl Traffic {
    /// The traffic of `shape`.
    pub fn new(shape: TrafficShape) -> Self {
        let alarms = shape.users.max(1) * shape.alarms_per_user.max(1);
        Self {
            rng: Rng::new(shape.seed),
            last_status: vec![None; alarms],
            clock: shape.start_nanos,
            recent: VecDeque::with_capacity(DUPLICATE_WINDOW),
            held: VecDeque::new(),
            events_made: 0,
            since_request: 0,
            tally: Tally::default(),
            shape,
        }
    }

    /// The shape it follows.
    pub fn shape(&self) -> &TrafficShape {
        &self.shape
    }

    /// What was produced so far.
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// Every message this traffic will produce, events and digest requests.
    pub fn total_messages(&self) -> u64 {
        let s = &self.shape;
        s.events + s.events.checked_div(s.digest_every).unwrap_or(0)
    }

    fn emit(&mut self, kind: Kind, payload: Vec<u8>) -> Message {
        self.tally.count(kind);
        if kind.is_event() {
            self.since_request += 1;
            for held in &mut self.held {
                held.0 = held.0.saturating_sub(1);
            }
        }
        Message { kind, payload }
    }

    fn fresh_event(&mut self) -> Vec<u8> {
        let users = self.shape.users.max(1) as u64;
        let per_user = self.shape.alarms_per_user.max(1) as u64;
        let user = self.rng.below(users);
        let alarm = self.rng.below(per_user);
        let key = (user * per_user + alarm) as usize;
        let status = match self.last_status[key] {
            // A status change, to one of the two other statuses.
            Some(last) => Status::from_rank((i64::from(last.rank()) + 1 + self.rng.below(2) as i64) % 3)
                .expect("ranks are 0 to 2"),
            // First sight of an alarm: active, mostly.
            None => [Status::Warning, Status::Critical, Status::Cleared][self.rng.below(3) as usize],
        };
        self.last_status[key] = Some(status);
        // 1 µs to 2 ms between events; now and then the same instant, to exercise ties.
        if self.rng.below(50) != 0 {
            self.clock += 1_000 + self.rng.below(2_000_000) as i64;
        }
        let mut json = String::with_capacity(192);
        let _ = write!(
            json,
            r#"{{"UserID":"user-{user:06}","AlarmID":"alarm-{alarm:04}","Status":"{}","ChangedAt":"{}","Service":"{}","Name":"Alarm {alarm} of user {user}"}}"#,
            status.as_str(),
            EventTime::from_nanos(self.clock).to_rfc3339(),
            SERVICES[(alarm % SERVICES.len() as u64) as usize],
        );
        json.into_bytes()
    }

    fn remember(&mut self, payload: &[u8]) {
        if self.recent.len() == DUPLICATE_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(payload.to_vec());
    }
}

impl Iterator for Traffic {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        let s = self.shape;
        if s.digest_every > 0 && self.since_request >= s.digest_every {
            self.since_request = 0;
            let user = self.rng.below(s.users.max(1) as u64);
            let payload = format!(r#"{{"UserID":"user-{user:06}"}}"#).into_bytes();
            return Some(self.emit(Kind::DigestRequest, payload));
        }
        loop {
            if self.tally.all_events() >= s.events {
                return None;
            }
            // A held event whose time has come, or every held event once nothing else is left.
            let made_all = self.events_made + self.tally.duplicates >= s.events;
            if self.held.front().is_some_and(|h| h.0 == 0 || made_all) {
                let (_, payload) = self.held.pop_front().expect("checked");
                return Some(self.emit(Kind::Late, payload));
            }
            if !self.recent.is_empty() && self.rng.percent(s.duplicate_percent) {
                let back = self.rng.below(self.recent.len() as u64) as usize;
                let payload = self.recent[self.recent.len() - 1 - back].clone();
                return Some(self.emit(Kind::Duplicate, payload));
            }
            let payload = self.fresh_event();
            self.events_made += 1;
            self.remember(&payload);
            if !self.rng.percent(s.late_percent) {
                return Some(self.emit(Kind::Event, payload));
            }
            let delay = 1 + self.rng.below(MAX_DELAY);
            // Kept in release order: a later-made event may be due earlier.
            let at = self.held.partition_point(|h| h.0 <= delay);
            self.held.insert(at, (delay, payload));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use wire::{parse_digest_request, parse_status_changed, DEFAULT_MAX_PAYLOAD};

    fn shape() -> TrafficShape {
        TrafficShape {
            users: 20,
            alarms_per_user: 5,
            events: 20_000,
            duplicate_percent: 10,
            late_percent: 10,
            digest_every: 50,
            seed: 7,
            ..TrafficShape::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_messages_and_another_seed_does_not() {
        let a: Vec<_> = Traffic::new(shape()).collect();
        let b: Vec<_> = Traffic::new(shape()).collect();
        let c: Vec<_> = Traffic::new(TrafficShape { seed: 8, ..shape() }).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn exactly_the_asked_events_and_requests_are_produced() {
        let mut traffic = Traffic::new(shape());
        let total = traffic.total_messages();
        let messages: Vec<_> = traffic.by_ref().collect();
        let tally = traffic.tally();
        assert_eq!(messages.len() as u64, total);
        assert_eq!(tally.all_events(), 20_000);
        assert_eq!(tally.digest_requests, 400);
        assert_eq!(tally.messages(), total);
    }

    #[test]
    fn duplicates_and_late_events_come_close_to_their_shares() {
        let mut traffic = Traffic::new(shape());
        traffic.by_ref().for_each(drop);
        let t = traffic.tally();
        let share = |n: u64| n as f64 / t.all_events() as f64;
        assert!((0.08..0.12).contains(&share(t.duplicates)), "{t:?}");
        // Late is a share of the fresh events.
        assert!((0.07..0.11).contains(&share(t.late)), "{t:?}");
    }

    #[test]
    fn every_message_is_valid_wire_input_of_about_170_bytes() {
        for m in Traffic::new(shape()) {
            if m.kind.is_event() {
                parse_status_changed(&m.payload, DEFAULT_MAX_PAYLOAD).unwrap();
                assert!((140..=200).contains(&m.payload.len()), "{}", m.payload.len());
            } else {
                parse_digest_request(&m.payload, DEFAULT_MAX_PAYLOAD).unwrap();
            }
        }
    }

    #[test]
    fn each_fresh_change_of_an_alarm_flaps_to_another_status() {
        // In publishing order: with late events, two changes at the same instant could swap.
        let in_order = TrafficShape {
            late_percent: 0,
            ..shape()
        };
        let mut by_alarm: HashMap<(String, String), Vec<Status>> = HashMap::new();
        for m in Traffic::new(in_order).filter(|m| m.kind != Kind::Duplicate && m.kind.is_event()) {
            let ev = parse_status_changed(&m.payload, DEFAULT_MAX_PAYLOAD).unwrap();
            by_alarm
                .entry((ev.user_id.as_str().into(), ev.alarm_id.as_str().into()))
                .or_default()
                .push(ev.version.status);
        }
        for changes in by_alarm.values() {
            assert!(changes.windows(2).all(|w| w[0] != w[1]), "{changes:?}");
        }
    }

    #[test]
    fn late_events_are_overtaken_by_newer_ones() {
        let mut newest = i64::MIN;
        let mut overtaken = 0;
        for m in Traffic::new(shape()).filter(|m| m.kind.is_event()) {
            let at = parse_status_changed(&m.payload, DEFAULT_MAX_PAYLOAD)
                .unwrap()
                .version
                .changed_at
                .as_nanos();
            if m.kind == Kind::Late && at < newest {
                overtaken += 1;
            }
            newest = newest.max(at);
        }
        assert!(overtaken > 1_000, "{overtaken}");
    }

    #[test]
    fn a_digest_request_follows_every_nth_event() {
        let kinds: Vec<_> = Traffic::new(shape()).map(|m| m.kind).collect();
        let requests: Vec<_> = (0..kinds.len()).filter(|&i| kinds[i] == Kind::DigestRequest).collect();
        assert_eq!(requests[0], 50);
        assert!(requests.windows(2).all(|w| w[1] - w[0] == 51));
    }
}
