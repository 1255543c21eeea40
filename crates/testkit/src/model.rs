//! What was published, what should come out, and the invariant checker every scenario uses.

use domain::EventTime;
use std::collections::{BTreeMap, HashMap, HashSet};

#[cfg(test)]
mod replay;

const RANKS: [&str; 3] = ["CLEARED", "WARNING", "CRITICAL"];

fn rank(status: &str) -> usize {
    RANKS
        .iter()
        .position(|s| *s == status)
        .unwrap_or_else(|| panic!("unknown status {status}"))
}

/// One AlarmStatusChanged as published.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TestEvent {
    pub user: String,
    pub alarm: String,
    pub status: &'static str,
    pub nanos: i64,
}

impl TestEvent {
    pub fn new(user: &str, alarm: &str, status: &'static str, nanos: i64) -> Self {
        Self {
            user: user.into(),
            alarm: alarm.into(),
            status,
            nanos,
        }
    }

    /// The wire form, with the time in RFC 3339 and nine digits.
    pub fn to_json(&self) -> String {
        let t = EventTime::from_nanos(self.nanos)
            .to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        serde_json::json!({ "UserID": self.user, "AlarmID": self.alarm, "Status": self.status, "ChangedAt": t })
            .to_string()
    }

    fn version(&self) -> (i64, usize) {
        (self.nanos, rank(self.status))
    }
}

/// One alarm of a received digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestEntry {
    pub alarm: String,
    pub status: String,
    pub changed_at: String,
}

impl DigestEntry {
    fn nanos(&self) -> i64 {
        EventTime::parse_rfc3339(&self.changed_at).unwrap().as_nanos()
    }

    fn version(&self) -> (i64, usize) {
        (self.nanos(), rank(&self.status))
    }
}

/// One received AlarmDigest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMsg {
    pub user: String,
    pub alarms: Vec<DigestEntry>,
    /// How many messages it came in (more than one when split under the max payload).
    pub parts: usize,
    /// Its id (the `Alarm-Digest-Id` header), when it carried one.
    pub id: Option<String>,
    /// The digest stream's sequence of each part, when read from the stream.
    pub sequences: Vec<u64>,
    /// What caused it (`Alarm-Digest-Cause`: `requested` or `scheduled`), when said.
    pub cause: Option<String>,
    /// The occurrence a scheduled digest was sent for (`Alarm-Digest-Occurrence`, RFC 3339).
    pub occurrence: Option<String>,
}

impl DigestMsg {
    /// `(alarm, status, time)` triples, for readable assertions.
    pub fn entries(&self) -> Vec<(String, String, String)> {
        self.alarms
            .iter()
            .map(|a| (a.alarm.clone(), a.status.clone(), a.changed_at.clone()))
            .collect()
    }
}

/// A broken guarantee: what is wrong and, when it is about one alarm, which, so a scenario
/// can print that alarm's whole trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What the checker found.
    pub message: String,
    /// The alarm at fault, `(user, alarm)`.
    pub alarm: Option<(String, String)>,
}

impl Violation {
    fn of_alarm(user: &str, alarm: &str, message: String) -> Self {
        Self {
            message,
            alarm: Some((user.to_string(), alarm.to_string())),
        }
    }

    fn of_digest(message: String) -> Self {
        Self { message, alarm: None }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything valid that was published.
#[derive(Debug, Default)]
pub struct Model {
    events: Vec<TestEvent>,
}

impl Model {
    pub fn record(&mut self, events: &[TestEvent]) {
        self.events.extend_from_slice(events);
    }

    fn by_alarm(&self) -> BTreeMap<(String, String), Vec<&TestEvent>> {
        let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for e in &self.events {
            map.entry((e.user.clone(), e.alarm.clone())).or_default().push(e);
        }
        map
    }

    /// The digest a user who never had one should get now: their active alarms, latest
    /// version each, oldest first, ties by alarm id.
    pub fn first_digest(&self, user: &str) -> Vec<(String, String, String)> {
        let mut active: Vec<_> = self
            .by_alarm()
            .into_iter()
            .filter(|((u, _), _)| u == user)
            .map(|((_, a), evs)| (a, *evs.iter().max_by_key(|e| e.version()).unwrap()))
            .filter(|(_, latest)| latest.status != "CLEARED")
            .map(|(a, latest)| (latest.nanos, a, latest))
            .collect();
        active.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
        active
            .into_iter()
            .map(|(_, a, e)| {
                let t = EventTime::from_nanos(e.nanos).to_rfc3339();
                (a, e.status.to_string(), t)
            })
            .collect()
    }

    /// The guarantees, checked against every digest a downstream consumer saw after a
    /// final digest request per user was answered:
    /// - each digest is ordered by LatestChangedAt then AlarmID;
    /// - each entry is a version that was published, and is active;
    /// - no alarm version is delivered twice;
    /// - every alarm active at the end was delivered, and nothing about it is still owed:
    ///   after its last delivered version no event of another status exists.
    pub fn check(&self, digests: &[DigestMsg]) -> Result<(), Violation> {
        let alarms = self.by_alarm();
        let published: HashSet<(&str, &str, (i64, usize))> = self
            .events
            .iter()
            .map(|e| (e.user.as_str(), e.alarm.as_str(), e.version()))
            .collect();
        let mut delivered: HashMap<(String, String), Vec<(i64, usize)>> = HashMap::new();
        for (i, d) in digests.iter().enumerate() {
            let keys: Vec<_> = d.alarms.iter().map(|a| (a.nanos(), a.alarm.clone())).collect();
            if keys.windows(2).any(|w| w[0] > w[1]) {
                return Err(Violation::of_digest(format!(
                    "digest #{i} of {} is out of order: {:?}",
                    d.user,
                    d.entries()
                )));
            }
            for a in &d.alarms {
                if a.status == "CLEARED" {
                    return Err(Violation::of_alarm(
                        &d.user,
                        &a.alarm,
                        format!("digest #{i} lists a cleared alarm {}", a.alarm),
                    ));
                }
                if !published.contains(&(d.user.as_str(), a.alarm.as_str(), a.version())) {
                    return Err(Violation::of_alarm(
                        &d.user,
                        &a.alarm,
                        format!("digest #{i} of {} lists a version never published: {a:?}", d.user),
                    ));
                }
                let seen = delivered.entry((d.user.clone(), a.alarm.clone())).or_default();
                if seen.contains(&a.version()) {
                    return Err(Violation::of_alarm(
                        &d.user,
                        &a.alarm,
                        format!(
                            "{}/{} delivered twice as {} at {}",
                            d.user, a.alarm, a.status, a.changed_at
                        ),
                    ));
                }
                seen.push(a.version());
            }
        }
        for ((user, alarm), evs) in &alarms {
            let latest = evs.iter().map(|e| e.version()).max().unwrap();
            if latest.1 == 0 {
                continue;
            }
            let Some(last) = delivered
                .get(&(user.clone(), alarm.clone()))
                .and_then(|v| v.iter().max().copied())
            else {
                return Err(Violation::of_alarm(
                    user,
                    alarm,
                    format!("active alarm {user}/{alarm} was never delivered (latest {latest:?})"),
                ));
            };
            if let Some(owed) = evs.iter().map(|e| e.version()).find(|v| *v > last && v.1 != last.1) {
                return Err(Violation::of_alarm(
                    user,
                    alarm,
                    format!("{user}/{alarm}: change {owed:?} after delivered {last:?} was never delivered"),
                ));
            }
        }
        Ok(())
    }

    /// Asserts that each user got exactly the one digest the model predicts, and that all
    /// digests keep the guarantees; `seed` is named in every failure.
    pub fn assert_first_digests(&self, all: &[DigestMsg], seed: u64) {
        for user in self.users() {
            let got: Vec<_> = all.iter().filter(|d| d.user == user).collect();
            assert_eq!(got.len(), 1, "user {user}, seed {seed}");
            assert_eq!(got[0].entries(), self.first_digest(&user), "user {user}, seed {seed}");
        }
        self.check(all).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }

    /// How many distinct alarms the events name.
    pub fn alarms(&self) -> usize {
        self.by_alarm().len()
    }

    /// How many alarms are active once every event is applied: latest version not CLEARED.
    pub fn active_alarms(&self) -> usize {
        self.by_alarm()
            .values()
            .filter(|evs| evs.iter().max_by_key(|e| e.version()).unwrap().status != "CLEARED")
            .count()
    }

    /// How many events were recorded.
    pub fn events_len(&self) -> usize {
        self.events.len()
    }

    pub fn users(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<_> = self.events.iter().map(|e| e.user.clone()).collect();
        set.into_iter().collect()
    }
}

/// A seeded generator of realistic traffic: flapping alarms, out-of-order times, duplicates.
pub struct Workload {
    state: u64,
    pub seed: u64,
}

impl Workload {
    /// Seeded from `E2E_SEED` when set, else from the clock; the seed is printed so a
    /// failure can be replayed.
    pub fn seeded(name: &str) -> Self {
        let seed = std::env::var("E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("{name}: seed = {seed} (replay with E2E_SEED={seed})");
        Self::with_seed(seed)
    }

    /// The generator of `seed`: the same seed gives the same traffic.
    pub fn with_seed(seed: u64) -> Self {
        Self { state: seed | 1, seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// `count` events over `users` × `alarms`, with times spread so arrival order differs
    /// from event order, equal times now and then, and about 10% exact duplicates.
    pub fn events(&mut self, users: usize, alarms: usize, count: usize) -> Vec<TestEvent> {
        const BASE: i64 = 1_623_098_415_000_000_000;
        let mut out: Vec<TestEvent> = Vec::with_capacity(count);
        while out.len() < count {
            if !out.is_empty() && self.below(10) == 0 {
                let dup = out[self.below(out.len() as u64) as usize].clone();
                out.push(dup);
                continue;
            }
            let user = format!("user-{}", self.below(users as u64));
            let alarm = format!("alarm-{}", self.below(alarms as u64));
            let status = RANKS[self.below(3) as usize];
            let nanos = BASE + (self.below(1_000_000) as i64) * 1_000 + self.below(3) as i64;
            out.push(TestEvent {
                user,
                alarm,
                status,
                nanos,
            });
        }
        out
    }

    /// A random permutation.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
