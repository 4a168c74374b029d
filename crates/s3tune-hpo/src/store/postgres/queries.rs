//! The queries the store's operations share: reading a study and its trials, and
//! changing running trials (marking them lost, reporting to them).

use futures::executor::block_on;
use tokio_postgres::{GenericClient, Row};

use super::{NOW_MS, PostgresStore};
use crate::store::{RawStudy, RawTrial, StoreError, Study, TrialRecord};

impl PostgresStore {
    /// The running trials among `numbers`, marked failed and lost.
    pub(super) async fn lose(
        &self,
        client: &impl GenericClient,
        study: &Study,
        numbers: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let numbers: Vec<i64> = numbers.iter().map(|&n| n as i64).collect();
        let rows = client
            .query(
                &format!(
                    "UPDATE s3tune_trials
                     SET status = 'failed', lost = TRUE, error = $1, finished_ms = {NOW_MS}
                     WHERE study = $2 AND number = ANY($3) AND status = 'running'
                     RETURNING number"
                ),
                &[&reason, &study.id, &numbers],
            )
            .await
            .map_err(|e| self.db(&e))?;
        Ok(numbers_of(&rows))
    }

    /// An update of a running trial that touched no row: the trial ended, or never was.
    pub(super) async fn not_updated(
        &self,
        client: &impl GenericClient,
        study: &Study,
        trial: u64,
    ) -> StoreError {
        let exists = client
            .query_opt(
                "SELECT 1 FROM s3tune_trials WHERE study = $1 AND number = $2",
                &[&study.id, &(trial as i64)],
            )
            .await;
        match exists {
            Ok(Some(_)) => StoreError::NotRunning {
                study: study.spec.name.clone(),
                trial,
            },
            Ok(None) => StoreError::NoTrial {
                study: study.spec.name.clone(),
                trial,
            },
            Err(e) => self.db(&e),
        }
    }

    pub(super) async fn records(
        &self,
        client: &impl GenericClient,
        study: &Study,
    ) -> Result<Vec<TrialRecord>, StoreError> {
        let rows = client
            .query(
                "SELECT number, config, status, reports, error, worker, started_ms,
                        heartbeat_ms, finished_ms, lost, metrics
                 FROM s3tune_trials WHERE study = $1 ORDER BY number",
                &[&study.id],
            )
            .await
            .map_err(|e| self.db(&e))?;
        rows.iter()
            .map(|r| {
                RawTrial {
                    number: r.get(0),
                    config: r.get(1),
                    status: r.get(2),
                    reports: r.get(3),
                    error: r.get(4),
                    worker: r.get(5),
                    started_ms: r.get(6),
                    heartbeat_ms: r.get(7),
                    finished_ms: r.get(8),
                    lost: r.get(9),
                    metrics: r.get(10),
                }
                .parse(&study.spec.name)
            })
            .collect()
    }

    pub(super) async fn read_study(
        &self,
        client: &impl GenericClient,
        name: &str,
    ) -> Result<Option<Study>, StoreError> {
        let row = client
            .query_opt(
                "SELECT id, name, space, objective, searcher, scheduler, seed, settings,
                        created_ms
                 FROM s3tune_studies WHERE name = $1",
                &[&name],
            )
            .await
            .map_err(|e| self.db(&e))?;
        row.map(|r| {
            RawStudy {
                id: r.get(0),
                name: r.get(1),
                space: r.get(2),
                objective: r.get(3),
                searcher: r.get(4),
                scheduler: r.get(5),
                seed: r.get(6),
                settings: r.get(7),
                created_ms: r.get(8),
            }
            .parse()
        })
        .transpose()
    }

    /// Runs `sql` on a running trial (`$1` study, `$2` number, `$3…` `params`), telling a
    /// trial that is not running from one that does not exist.
    pub(super) fn update_running(
        &self,
        study: &Study,
        trial: u64,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let client = self.lock();
        block_on(async {
            let number = trial as i64;
            let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&study.id, &number];
            all.extend_from_slice(params);
            let n = client.execute(sql, &all).await.map_err(|e| self.db(&e))?;
            if n == 0 {
                return Err(self.not_updated(&*client, study, trial).await);
            }
            Ok(())
        })
    }
}

pub(super) fn numbers_of(rows: &[Row]) -> Vec<u64> {
    rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect()
}
