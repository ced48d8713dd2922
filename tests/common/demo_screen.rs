//! Reading the demo's screen in the tmux tests: is the fleet loaded, an instance's role
//! letters.

use roster::demo::Demo;

/// Starts the demo (simulator, target files, inventory) or fails the test.
pub async fn start_demo() -> Demo {
    match Demo::start().await {
        Ok(d) => d,
        Err(e) => panic!("demo: {e:#}"),
    }
}

/// True once the demo fleet is on screen.
pub fn loaded(s: &str) -> bool {
    s.contains("of 25 instances") && s.contains("pg-test-1")
}

/// The role letters (consul, targets, inventory) of an instance's tree row.
pub fn role_letters(screen: &str, instance: &str) -> Option<String> {
    screen.lines().find_map(|line| {
        let mut words = line.split_whitespace().skip_while(|w| *w != instance);
        words.next()?;
        let letters = words.next()?;
        // Only the instance row has the marker `>`/`v` right before the name.
        let before = line.split(instance).next()?.trim_end();
        let is_row = before.ends_with('>') || before.ends_with('v');
        (is_row && letters.chars().count() == 3).then(|| letters.to_string())
    })
}
