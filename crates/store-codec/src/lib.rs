//! The JSON encodings both store adapters write: prepared and sent digests ([`prepared`]),
//! and the pager's service states, notifications and policies ([`pager`]).

pub mod pager;
pub mod prepared;
