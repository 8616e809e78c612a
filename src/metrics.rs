//! Counters for `/metrics` (Prometheus text format). Job counts by state are read from the
//! database at scrape time, so they are right across all processes; counters are per
//! process, as Prometheus expects.

use std::{collections::BTreeMap, fmt::Write, sync::Mutex};

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

/// Counter families and their help text.
const FAMILIES: &[(&str, &str, &str)] = &[
    ("fulcrum_webhooks_total", "outcome", "Lever webhook deliveries by outcome."),
    ("fulcrum_lever_calls_total", "status", "Calls to Lever's API by HTTP status (or error)."),
    ("fulcrum_emails_total", "outcome", "Emails by outcome."),
    ("fulcrum_jobs_finished_total", "outcome", "Jobs finished by this process, by outcome."),
];

impl Metrics {
    pub fn webhook(&self, outcome: &str) {
        self.incr("fulcrum_webhooks_total", outcome);
    }

    pub fn lever_call(&self, status: &str) {
        self.incr("fulcrum_lever_calls_total", status);
    }

    pub fn email(&self, outcome: &str) {
        self.incr("fulcrum_emails_total", outcome);
    }

    pub fn job_finished(&self, outcome: &str) {
        self.job_finished_n(outcome, 1);
    }

    pub fn job_finished_n(&self, outcome: &str, n: u64) {
        self.add("fulcrum_jobs_finished_total", outcome, n);
    }

    fn incr(&self, family: &'static str, label: &str) {
        self.add(family, label, 1);
    }

    fn add(&self, family: &'static str, label: &str, n: u64) {
        let mut counters = self.counters.lock().expect("metrics lock poisoned");
        *counters.entry((family, label.to_string())).or_default() += n;
    }

    pub fn get(&self, family: &str, label: &str) -> u64 {
        let counters = self.counters.lock().expect("metrics lock poisoned");
        counters.iter().find(|((f, l), _)| *f == family && l == label).map_or(0, |(_, v)| *v)
    }

    /// The Prometheus text exposition, with `jobs` (state, count) appended as a gauge.
    pub fn render(&self, jobs: &[(String, i64)]) -> String {
        let counters = self.counters.lock().expect("metrics lock poisoned");
        let mut out = String::new();
        for (family, label, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {family} {help}\n# TYPE {family} counter");
            for ((f, value), count) in counters.iter() {
                if f == family {
                    let _ = writeln!(out, "{family}{{{label}=\"{}\"}} {count}", escape(value));
                }
            }
        }
        let _ = writeln!(out, "# HELP fulcrum_jobs Jobs waiting or in progress, by state.\n# TYPE fulcrum_jobs gauge");
        for (state, count) in jobs {
            let _ = writeln!(out, "fulcrum_jobs{{state=\"{}\"}} {count}", escape(state));
        }
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_job_gauges() {
        let m = Metrics::default();
        m.webhook("accepted");
        m.webhook("accepted");
        m.webhook("rejected");
        let text = m.render(&[("queued".into(), 3), ("failed".into(), 0)]);
        assert!(text.contains("fulcrum_webhooks_total{outcome=\"accepted\"} 2"));
        assert!(text.contains("fulcrum_webhooks_total{outcome=\"rejected\"} 1"));
        assert!(text.contains("fulcrum_jobs{state=\"queued\"} 3"));
        assert!(text.contains("fulcrum_jobs{state=\"failed\"} 0"));
    }
}
