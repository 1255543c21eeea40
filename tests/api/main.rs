//! The HTTP API over real HTTP, on SQLite and on a MongoDB-wire server (`MONGODB_URI`, or
//! a SecantusDB started for this test binary).

mod cases;
mod clock;
mod dead_letters;
mod failing_store;
mod hostile;
mod openapi;
mod pager;
mod preview;
mod reports;
mod schedules;
mod server;
mod webhooks;

use alarm_digest::domain::ports::AlarmStore;
use alarm_digest::store::mongo::MongoStore;
use alarm_digest::store::sqlite::{SqliteOptions, SqliteStore};
use std::sync::Arc;
use testkit::TestDatabase;

/// Keeps a test's store alive and removes it when dropped: at the end of the test, or when
/// it panics.
enum Fixture {
    Sqlite(#[allow(dead_code, reason = "held for its Drop")] tempfile::TempDir),
    Mongo(#[allow(dead_code, reason = "held for its Drop")] TestDatabase),
}

fn sqlite() -> (Arc<dyn AlarmStore>, Fixture) {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        history: server::LIMITS,
        ..Default::default()
    };
    let store = SqliteStore::open(dir.path().join("alarms.db"), options).unwrap();
    (Arc::new(store), Fixture::Sqlite(dir))
}

async fn mongo() -> (Arc<dyn AlarmStore>, Fixture) {
    let database = TestDatabase::new("api");
    let store = MongoStore::connect(&testkit::mongo_uri(), Some(database.name()), server::LIMITS)
        .await
        .unwrap();
    (Arc::new(store), Fixture::Mongo(database))
}

/// Every test body, whichever file it lives in.
mod all {
    pub use super::cases::*;
    pub use super::clock::*;
    pub use super::hostile::*;
    pub use super::openapi::*;
    pub use super::preview::*;
    pub use super::reports::*;
    pub use super::webhooks::*;
}

macro_rules! api_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _fixture) = super::sqlite();
                    super::all::$name(store).await;
                }
            )*
        }
        mod mongo_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _fixture) = super::mongo().await;
                    super::all::$name(store).await;
                }
            )*
        }
    };
}

/// Dead letters need the intake: the real binary on its default SQLite store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_input_is_listed_newest_first_with_its_reason_and_pages_back() {
    dead_letters::refused_input_is_listed_newest_first_with_its_reason_and_pages_back().await;
}

/// Schemathesis needs one live server, not one per store: the SQLite one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_live_document() {
    let (store, _fixture) = sqlite();
    openapi::schemathesis_finds_nothing_against_the_live_document(store).await;
}

api_suite!(
    every_listing_filter_selects_exactly_the_matching_alarms,
    pages_walk_to_the_end_without_gaps_or_duplicates_in_both_orders,
    one_alarm_shows_its_state_and_unknown_alarms_are_404,
    history_keeps_the_newest_events_in_changed_at_order_with_ignored_ones_flagged,
    counts_report_active_alarms_alarms_and_events_received,
    a_batch_applies_valid_items_and_reports_each_rejected_one,
    a_single_invalid_event_is_a_422_problem,
    acknowledging_is_201_then_200_and_404_for_an_unknown_alarm,
    malformed_requests_get_problem_json_with_the_right_status,
    tokens_guard_reads_and_writes_but_never_health,
    stats_match_figures_worked_out_by_hand,
    allma_alerts_become_status_changes_and_acknowledgements,
    the_openapi_document_validates_and_names_every_route,
    every_documented_query_parameter_is_accepted_by_the_server,
    hostile_bodies_on_every_write_route_get_a_reasoned_problem_and_are_counted,
    an_event_stamped_years_ahead_is_refused_and_cannot_pin_an_alarm,
    allma_services_that_share_a_name_stay_apart_by_their_ids,
    an_allma_alert_with_a_service_id_is_found_by_its_service_name_and_keeps_both,
    alertmanager_alerts_fire_escalate_and_clear_one_alarm_and_a_resent_alert_is_a_duplicate,
    grafana_recorded_payloads_fire_and_resolve_alarms_of_the_team_their_label_names,
    one_bad_alert_in_a_webhook_is_rejected_beside_the_valid_ones_it_came_with,
    a_webhook_without_a_recipient_is_a_422_naming_the_url_parameter_and_the_label,
    malformed_webhook_payloads_are_400_or_422_problems,
    webhooks_need_the_write_token_sent_as_alertmanager_sends_it,
    a_store_that_cannot_commit_is_a_503_so_the_sender_retries_and_the_retry_is_taken,
    the_preview_lists_due_alarms_in_digest_order_with_their_reasons_and_changes_nothing,
    the_preview_of_an_unknown_user_is_empty_and_a_bad_user_id_is_a_400,
);

/// Every test body that needs every port of one adapter.
mod pager_routes {
    pub use super::pager::*;
    pub use super::schedules::*;
}

/// The pager's, the schedules' and the windows' routes need every port of one adapter.
macro_rules! pager_api_suite {
    ($($name:ident),* $(,)?) => {
        mod pager_routes_on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = super::SqliteStore::open(dir.path().join("alarms.db"), Default::default()).unwrap();
                    let store = std::sync::Arc::new(store);
                    let stores = alarm_digest::store::Stores { alarms: store.clone(), pager: store.clone(), policies: store.clone(), schedules: store.clone(), maintenance: store };
                    super::pager_routes::$name(stores).await;
                }
            )*
        }
        mod pager_routes_on_mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let database = super::TestDatabase::new("api");
                    let store = super::MongoStore::connect(&testkit::mongo_uri(), Some(database.name()), super::server::LIMITS).await.unwrap();
                    let shared = std::sync::Arc::new(store);
                    let stores = alarm_digest::store::Stores { alarms: shared.clone(), pager: shared.clone(), policies: shared.clone(), schedules: shared.clone(), maintenance: shared };
                    super::pager_routes::$name(stores).await;
                }
            )*
        }
    };
}

pager_api_suite!(
    escalation_policies_are_created_replaced_read_and_deleted,
    invalid_escalation_policies_are_422_problems_naming_the_fault,
    a_service_shows_its_incident_until_the_console_acknowledges_and_heals_it,
    pager_writes_need_the_write_token_and_reads_the_read_token,
    http_intake_pages_a_service_whose_alarm_turns_critical_like_nats_intake,
    services_are_listed_a_page_at_a_time_by_id_as_the_service_route_shows_them,
    digest_schedules_are_created_replaced_read_and_deleted,
    invalid_digest_schedules_are_422_problems_naming_the_field,
    next_occurrences_show_utc_and_local_time_across_a_daylight_saving_gap,
    maintenance_windows_are_opened_listed_changed_and_deleted,
    invalid_maintenance_windows_are_422_problems_naming_the_field,
    an_alert_in_a_window_pages_nobody_until_the_window_is_ended_early_then_level_one_once,
    an_incident_acknowledged_during_its_window_pages_nobody_when_the_window_ends,
    a_claim_left_by_a_dead_replica_is_fired_by_another_and_skips_no_occurrence,
    occurrences_missed_while_no_replica_ran_are_sent_as_one_digest,
    a_timer_that_fell_behind_while_it_ran_sends_each_occurrence_it_missed,
);
