//! The rounds of a benchmark: an MV and its view read alternately (and refreshed through
//! the refresh engine), or a plain view against a temporary MV inside a rolled-back
//! transaction.

use std::time::Instant;

use super::reads::guard;
use super::{Bench, BenchError, CaseRuns, Measurements, Options, RefreshPlan, humantime, ms_since};
use crate::bench::sql;
use crate::bench::subject::Subject;
use crate::catalog::ident::quote_qualified;
use crate::pgconn::{Connector, one_line};
use crate::refresh::{self, OutcomeKind};

impl Bench<'_> {
    pub(super) async fn materialized(
        &mut self,
        connector: &Connector,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        let rounds = options.warmup + options.runs;
        let refreshes = if options.refresh.is_some() {
            options.runs
        } else {
            0
        };
        self.total = rounds * 4 + refreshes;
        let view_sql = sql::read_statement(
            options.query.as_deref(),
            &sql::view_source(&subject.definition, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let mv_sql = sql::read_statement(
            options.query.as_deref(),
            &sql::mv_source(&subject.schema, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let mut view = case("view", &view_sql);
        let mut mv = case("mv", &mv_sql);
        let mut refresh = options
            .refresh
            .as_ref()
            .map(|r| case("refresh", &refresh::statement(&r.spec.target, r.spec.mode)));
        for round in 0..rounds {
            let warmup = round < options.warmup;
            // A, B then B, A: drift and order effects fall on both alike.
            let order: [&mut CaseRuns; 2] = if round % 2 == 0 {
                [&mut view, &mut mv]
            } else {
                [&mut mv, &mut view]
            };
            for c in order {
                self.measure_read(c, warmup, true).await?;
            }
            if let (Some(plan), Some(runs), false) = (&options.refresh, refresh.as_mut(), warmup) {
                self.step("refresh", false);
                let ms = self.refresh_through_engine(connector, plan).await?;
                runs.client_ms.push(ms);
            }
        }
        self.finished();
        Ok(Measurements {
            view,
            mv,
            refresh,
            create: None,
        })
    }

    /// A plain view: a temporary MV of its definition, created, read and refreshed inside
    /// one transaction that is rolled back whatever happens.
    pub(super) async fn plain_view(
        &mut self,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        let rounds = options.warmup + options.runs;
        self.total = 1 + rounds * 4 + options.runs;
        let client = &self.session.client;
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| BenchError::Failed(one_line(&e)))?;
        let result = self.in_rolled_back_transaction(subject, options).await;
        // Also after a cancel or a timeout: the transaction is aborted, ROLLBACK ends it.
        let rollback = self.session.client.batch_execute("ROLLBACK").await;
        let measurements = result?;
        rollback.map_err(|e| BenchError::Failed(one_line(&e)))?;
        self.finished();
        Ok(measurements)
    }

    async fn in_rolled_back_transaction(
        &mut self,
        subject: &Subject,
        options: &Options,
    ) -> Result<Measurements, BenchError> {
        // In the view's schema, so the definition resolves its names exactly as the view's
        // does; the name is this backend's, so two benchmarks never collide (and no one
        // else ever sees it: it never commits).
        let temp_name = format!("mvtop_bench_{}_{}", std::process::id(), subject.oid);
        let create_sql = sql::create_temporary_mv(&subject.schema, &temp_name, &subject.definition);
        let mut create = case("create", &create_sql);
        self.step("create", false);
        let started = Instant::now();
        let client = &self.session.client;
        let created = guard(
            self.session,
            &mut self.cancel,
            self.timeout,
            "creating the temporary MV",
            client.batch_execute(&create_sql),
        )
        .await;
        if let Err(BenchError::Failed(e)) = &created
            && e.contains("permission denied for schema")
        {
            return Err(BenchError::Failed(format!(
                "{e} (a plain view is measured through a temporary MV created in its schema \
                 and rolled back: that needs CREATE on schema {})",
                crate::catalog::ident::quote_ident(&subject.schema)
            )));
        }
        created?;
        create.client_ms.push(ms_since(started));
        let view_sql = sql::read_statement(
            options.query.as_deref(),
            &quote_qualified(&subject.schema, &subject.name),
        )
        .map_err(BenchError::Failed)?;
        let temp_sql = sql::read_statement(
            options.query.as_deref(),
            &quote_qualified(&subject.schema, &temp_name),
        )
        .map_err(BenchError::Failed)?;
        let refresh_sql = format!(
            "REFRESH MATERIALIZED VIEW {}",
            quote_qualified(&subject.schema, &temp_name)
        );
        let mut view = case("view", &view_sql);
        let mut mv = case("mv", &temp_sql);
        let mut refresh = case("refresh", &refresh_sql);
        let rounds = options.warmup + options.runs;
        for round in 0..rounds {
            let warmup = round < options.warmup;
            let order: [&mut CaseRuns; 2] = if round % 2 == 0 {
                [&mut view, &mut mv]
            } else {
                [&mut mv, &mut view]
            };
            for c in order {
                // Already inside the (read-write) transaction that holds the temporary MV.
                self.measure_read(c, warmup, false).await?;
            }
            if !warmup {
                self.step("refresh", false);
                let started = Instant::now();
                let client = &self.session.client;
                guard(
                    self.session,
                    &mut self.cancel,
                    self.timeout,
                    "refresh",
                    client.batch_execute(&refresh_sql),
                )
                .await?;
                refresh.client_ms.push(ms_since(started));
            }
        }
        Ok(Measurements {
            view,
            mv,
            refresh: Some(refresh),
            create: Some(create),
        })
    }

    async fn refresh_through_engine(
        &mut self,
        connector: &Connector,
        plan: &RefreshPlan,
    ) -> Result<f64, BenchError> {
        if *self.cancel.borrow() {
            return Err(BenchError::Cancelled);
        }
        let outcome = refresh::job::run(
            connector,
            plan.ledger.as_ref(),
            &plan.spec,
            self.cancel.clone(),
            &|_| {},
        )
        .await;
        let error = || outcome.error.clone().unwrap_or_default();
        match (outcome.kind, outcome.duration_ms) {
            (OutcomeKind::Ok, Some(ms)) => Ok(ms),
            (OutcomeKind::Cancelled, _) => Err(BenchError::Cancelled),
            (OutcomeKind::TimedOut, _) => Err(BenchError::TimedOut(format!(
                "refresh of {} did not finish within --timeout {} ({})",
                plan.spec.target.qualified_name,
                humantime(self.timeout),
                error()
            ))),
            _ => Err(BenchError::Failed(format!(
                "refresh of {} failed: {}",
                plan.spec.target.qualified_name,
                error()
            ))),
        }
    }
}

fn case(name: &'static str, statement: &str) -> CaseRuns {
    CaseRuns {
        name,
        statement: statement.to_string(),
        ..CaseRuns::default()
    }
}
