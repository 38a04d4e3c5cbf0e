//! A whole stack for the end-to-end and fault tests: a private Redis, two simulators (5 % and
//! 15 %), one API, and a worker started on demand, all killed on drop.

use super::{request, start_worker, uuid, wait_until, Api, Process, Redis, Simulator, TempDir};

/// The processes of one test's stack. Fields are public: tests reach each part directly (set a
/// simulator's delay, kill the worker, read Redis).
pub struct Stack {
    pub default: Simulator,
    pub fallback: Simulator,
    pub api: Api,
    pub worker: Option<Process>,
    pub redis: Redis,
    pub directory: TempDir,
}

impl Stack {
    /// Everything but the worker, on `redis`; `name` names the temporary directory.
    pub fn without_worker(redis: Redis, name: &str) -> Self {
        let directory = TempDir::new(name);
        let default = Simulator::start("0.05");
        let fallback = Simulator::start("0.15");
        let api = Api::start(&redis, &directory.0, "api");
        Self { default, fallback, api, worker: None, redis, directory }
    }

    /// Starts a worker (replacing the handle of any earlier one) with `extra` environment.
    pub fn start_worker(&mut self, extra: &[(&str, &str)]) {
        self.worker = Some(start_worker(&self.redis, &self.default, &self.fallback, extra));
    }

    /// Posts `count` fresh payments of 19.90, each answered `202`; returns their ids.
    pub fn pay_many(&self, count: usize) -> Vec<String> {
        (0..count)
            .map(|_| {
                let id = uuid();
                assert_eq!(self.api.pay(&id, "19.90"), 202);
                id
            })
            .collect()
    }

    /// Posts `count` fresh payments to a stack that has recorded none yet, and waits (bounded)
    /// until the backend has recorded them all; returns their ids.
    pub fn pay_and_settle(&self, count: usize) -> Vec<String> {
        let ids = self.pay_many(count);
        self.wait_recorded(count as u64);
        ids
    }

    /// The end state every test checks: the backend's books equal the processors' and each of
    /// `ids` is held by exactly one processor.
    pub fn assert_settled(&self, ids: &[String]) {
        self.assert_books_agree("");
        self.assert_each_paid_once(ids);
    }

    /// Payments in the backend's summary, or `None` while it answers `503` (Redis reconnecting).
    pub fn recorded(&self) -> Option<u64> {
        let response = request(&self.api.address, "GET", "/payments-summary", &[], "").ok()?;
        if response.status != 200 {
            return None;
        }
        let value = response.json();
        let count = |name: &str| value[name]["totalRequests"].as_u64().unwrap();
        Some(count("default") + count("fallback"))
    }

    /// Waits (bounded) until the backend's summary counts `expected` payments in all.
    pub fn wait_recorded(&self, expected: u64) {
        wait_until(&format!("{expected} payments recorded"), || self.recorded() == Some(expected));
    }

    /// Asserts that the backend's books equal the processors' for `query`.
    pub fn assert_books_agree(&self, query: &str) {
        let (default, fallback) = self.api.summary(query);
        assert_eq!(default, self.default.admin_summary(query), "default books for {query:?}");
        assert_eq!(fallback, self.fallback.admin_summary(query), "fallback books for {query:?}");
    }

    /// Asserts that each id is held by exactly one processor.
    pub fn assert_each_paid_once(&self, ids: &[String]) {
        for id in ids {
            let holders = [self.default.has_payment(id), self.fallback.has_payment(id)];
            assert_eq!(holders.iter().filter(|held| **held).count(), 1, "{id} held by {holders:?}");
        }
    }

    /// Asserts that no processor holds any of `ids`.
    pub fn assert_none_paid(&self, ids: &[String]) {
        for id in ids {
            let holders = [self.default.has_payment(id), self.fallback.has_payment(id)];
            assert_eq!(holders, [false, false], "{id} was refused but paid");
        }
    }
}
