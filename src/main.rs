//! The roster command line.

fn main() {
    println!("roster");
}
