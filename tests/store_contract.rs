//! Runs the store contract against every adapter: SQLite always, MongoDB-wire always
//! (`MONGODB_URI`, or a SecantusDB server started for this test binary).

mod contract;

use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::store::mongo::MongoStore;
use alarm_digest::store::sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use tempfile::TempDir;
use testkit::TestDatabase;

/// A file-backed SQLite store in a fresh directory (so WAL readers are exercised).
fn sqlite() -> (Arc<dyn AlarmStore>, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        history: contract::LIMITS,
        ..Default::default()
    };
    let store = SqliteStore::open(dir.path().join("alarms.db"), options).unwrap();
    (Arc::new(store), dir)
}

/// A MongoDB store on a database of its own, dropped with the fixture at the end of the
/// test, or when it panics.
struct MongoFixture {
    store: MongoStore,
    _database: TestDatabase,
}

async fn mongo() -> (Arc<dyn AlarmStore>, MongoFixture) {
    let database = TestDatabase::new("contract");
    let store = MongoStore::connect(&testkit::mongo_uri(), Some(database.name()), contract::LIMITS)
        .await
        .unwrap();
    let fixture = MongoFixture {
        store: store.clone(),
        _database: database,
    };
    (Arc::new(store), fixture)
}

macro_rules! contract_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = super::sqlite();
                    super::contract::$name(super::Arg::from(&store).into()).await;
                }
            )*
        }
        mod mongo_adapter {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _fixture) = super::mongo().await;
                    super::contract::$name(super::Arg::from(&store).into()).await;
                }
            )*
        }
    };
}

/// Lets one macro call contract functions taking `&dyn AlarmStore` or `Arc<dyn AlarmStore>`.
struct Arg<'a>(&'a Arc<dyn AlarmStore>);

impl<'a> From<&'a Arc<dyn AlarmStore>> for Arg<'a> {
    fn from(store: &'a Arc<dyn AlarmStore>) -> Self {
        Arg(store)
    }
}

impl<'a> From<Arg<'a>> for &'a dyn AlarmStore {
    fn from(arg: Arg<'a>) -> Self {
        arg.0.as_ref()
    }
}

impl<'a> From<Arg<'a>> for Arc<dyn AlarmStore> {
    fn from(arg: Arg<'a>) -> Self {
        Arc::clone(arg.0)
    }
}

contract_suite!(
    first_event_creates_an_active_due_alarm,
    out_of_order_update_never_overwrites_newer_status,
    duplicate_event_is_reported_and_changes_nothing,
    equal_time_tie_keeps_the_more_severe_status,
    batch_reports_one_outcome_per_event_in_order,
    due_alarms_come_oldest_first_with_ties_by_alarm_id,
    nanosecond_times_survive_a_round_trip,
    cleared_alarm_is_never_due,
    delivered_alarm_is_not_due_until_its_status_changes,
    late_cleared_rearms_a_delivered_alarm,
    event_applied_during_a_digest_keeps_the_alarm_due,
    delivery_records_only_move_forward,
    users_never_see_each_others_alarms,
    metadata_of_the_newest_event_is_kept,
    summary_and_service_name_are_kept_and_merged_like_the_other_metadata,
    the_service_filter_finds_an_alarm_by_its_service_id_and_by_its_service_name,
    the_text_search_also_reads_service_names_and_summaries,
    only_one_of_two_racing_claims_wins,
    claim_is_exclusive_until_released_or_expired,
    epoch_counts_recorded_digests,
    the_latest_sent_digests_are_kept_newest_first_per_user,
    concurrent_permuted_duplicated_applies_converge_to_the_sequential_state,
    prepared_digest_is_handed_to_the_next_holder_until_recorded,
    a_lapsed_holder_cannot_record_over_the_next_holders_prepared_digest,
    a_lapsed_holder_cannot_prepare_once_the_next_holder_claimed,
    a_lapsed_holders_release_leaves_the_next_holders_claim,
    a_claim_whose_epoch_is_behind_the_users_cannot_prepare_or_record,
    a_lapsed_claim_nobody_took_over_still_records,
    an_abandoned_digest_is_dropped_and_its_alarms_stay_due,
    a_lapsed_holder_cannot_abandon_the_next_holders_prepared_digest,
    answered_requests_are_remembered_newest_last_and_bounded,
    history_keeps_the_newest_events_in_changed_at_order_with_ignored_ones_flagged,
    trimming_keeps_histories_of_the_alarms_that_changed_last_only,
    listing_filters_and_pages_to_the_end_without_gaps_or_duplicates,
    acknowledgements_are_recorded_once_and_unknown_alarms_refused,
    counts_report_active_seen_and_received,
    activity_reads_every_matching_alarm_whole_in_listing_order,
    lifecycle_filter_selects_what_the_domain_rule_says_on_every_page,
    a_cleared_alarm_older_than_the_cut_off_is_removed_with_its_history_and_acknowledgements_and_leaves_a_tombstone,
    an_alarm_cleared_after_the_cut_off_stays,
    an_active_alarm_is_never_removed_however_old,
    the_clear_is_measured_from_when_the_store_applied_it_not_from_its_changed_at,
    a_stale_event_keeps_the_time_the_clear_was_applied,
    an_event_older_than_the_clear_of_a_removed_alarm_is_stale_and_stores_nothing,
    a_newer_event_brings_the_alarm_back_as_due_and_drops_the_tombstone,
    the_due_rule_gives_the_same_answer_with_and_without_a_removal_for_every_order_of_four_events,
    tombstones_past_their_cut_off_go,
    a_sweep_removes_at_most_batch_of_each_kind_and_a_second_sweep_continues,
    counts_report_stored_tombstones_and_removed,
    two_racing_sweeps_remove_each_alarm_once,
);

/// The pager contract, against the same two adapters, each test on a fresh store.
macro_rules! pager_contract_suite {
    ($($name:ident),* $(,)?) => {
        mod pager_on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::SqliteStore::open(dir.path().join("pager.db"), Default::default()).unwrap();
                    super::contract::pager::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod pager_on_mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_, fixture) = super::mongo().await;
                    super::contract::pager::$name(std::sync::Arc::new(fixture.store.clone())).await;
                }
            )*
        }
    };
}

pager_contract_suite!(
    pager_record_is_absent_until_the_first_save_creates_revision_one,
    pager_save_lands_only_on_the_revision_it_was_decided_from,
    pager_racing_saves_from_one_revision_let_exactly_one_win,
    pager_notification_is_recorded_once_per_idempotency_key,
    pager_racing_records_of_one_key_record_it_once,
    pager_due_services_are_claimed_by_exactly_one_of_racing_claimers,
    pager_claimed_service_is_due_again_only_when_the_claim_lapses,
    pager_policies_are_created_replaced_and_deleted,
    pager_racing_alerts_of_two_replicas_notify_each_level_one_target_once,
    pager_sent_notifications_older_than_the_cut_off_go_and_newer_stay,
    pager_services_are_listed_by_id_across_pages_each_once,
    services_with_a_policy_are_listed_by_id_across_pages_each_once,
    pager_sent_notifications_are_the_services_own_newest_first,
);

/// The contract of one more port over both adapters, each test on a fresh store: the
/// functions of `contract::$port`, in test modules named `$on_sqlite` and `$on_mongo`.
macro_rules! port_contract_suite {
    ($port:ident => $on_sqlite:ident, $on_mongo:ident: $($name:ident),* $(,)?) => {
        mod $on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::SqliteStore::open(dir.path().join("timers.db"), Default::default()).unwrap();
                    super::contract::$port::$name(std::sync::Arc::new(store)).await;
                }
            )*
        }
        mod $on_mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_, fixture) = super::mongo().await;
                    super::contract::$port::$name(std::sync::Arc::new(fixture.store.clone())).await;
                }
            )*
        }
    };
}

port_contract_suite!(
    schedules => schedules_on_sqlite, schedules_on_mongo:
    schedules_are_created_read_replaced_and_deleted,
    due_schedules_are_claimed_earliest_first_and_not_yet_due_ones_never,
    a_claimed_schedule_is_not_claimed_again_before_its_claim_lapses,
    racing_claimers_fire_each_occurrence_once,
    a_lapsed_claim_fires_again_once_and_the_first_claimers_advance_is_refused,
    a_lapsed_claim_nobody_took_over_still_advances,
    advancing_moves_the_timer_and_frees_the_claim,
    a_put_or_delete_during_a_claim_leaves_the_old_claim_without_effect,
);

port_contract_suite!(
    maintenance => windows_on_sqlite, windows_on_mongo:
    windows_are_created_replaced_listed_by_start_and_deleted,
    windows_starting_together_are_listed_by_id,
    retention_removes_only_windows_that_ended_before_the_cut_off,
);
