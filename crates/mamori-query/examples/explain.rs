//! Print how a query is understood: canonical text, time range, prune hints, needed fields,
//! output columns — or the error with its caret line.
//!
//! `cargo run -p mamori-query --example explain -- 'source.ip:10.0.0.0/8 | top 5 user.name'`

use mamori_core::Timestamp;
use mamori_query::{parse, ParseOptions, Schema};

fn main() {
    let opts = ParseOptions {
        now: Some(Timestamp::from_unix_secs(1_795_400_000)),
        time: Default::default(),
    };
    for q in std::env::args().skip(1) {
        println!("query:    {q}");
        match parse(&q, &Schema::ecs(), &opts) {
            Ok(plan) => {
                println!("canonical: {plan}");
                println!("time:      {:?}", plan.time);
                for h in plan.prune_hints().fields {
                    println!("hint:      {} {:?}", h.field, h.constraint);
                }
                println!("fields:    {:?}", plan.fields_needed());
                println!("columns:   {:?}", plan.output_columns());
            }
            Err(e) => println!("error:\n{}", e.render()),
        }
        println!();
    }
}
