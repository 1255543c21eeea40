//! The JSON encodings both store adapters write: prepared and sent digests ([`prepared`]),
//! the pager's service states, notifications and policies ([`pager`]), maintenance windows
//! ([`maintenance`]) and digest schedules' recurrences ([`schedule`]).

pub mod maintenance;
pub mod pager;
pub mod prepared;
pub mod schedule;
