//! The check every edit passes before its text is returned: the new text is re-read by
//! the source's strict parser and must hold exactly the groups asked for, so a scanner
//! or splicing mistake becomes an error, never a wrong file.

use super::TargetEditError;
use crate::observation::Origin;
use crate::source::targets::{TargetGroup, parse_target_file, parse_target_groups};
use std::path::Path;

/// Every group of the text being edited; a file the strict parser refuses is not edited.
pub(super) fn original_groups(
    path: &Path,
    text: &str,
) -> Result<Vec<TargetGroup>, TargetEditError> {
    parse_target_groups(path, text).map_err(TargetEditError::Unparsable)
}

/// Re-parses `new_text` and checks it holds exactly `expected`, every group and the
/// database groups the source reads from it.
pub(super) fn verify(
    path: &Path,
    new_text: &str,
    expected: &[TargetGroup],
) -> Result<(), TargetEditError> {
    let fail = |reason: String| TargetEditError::Verify {
        path: path.to_path_buf(),
        reason,
    };
    let observations = parse_target_file(path, new_text)
        .map_err(|e| fail(format!("the new text does not parse: {e}")))?;
    let got = parse_target_groups(path, new_text).map_err(|e| fail(format!("re-reading: {e}")))?;
    if got.len() != expected.len() {
        return Err(fail(format!(
            "{} group(s) instead of {}",
            got.len(),
            expected.len()
        )));
    }
    if let Some((i, (g, e))) = got
        .iter()
        .zip(expected)
        .enumerate()
        .find(|(_, (g, e))| g != e)
    {
        return Err(fail(format!("group {i} would be {g:?}, expected {e:?}")));
    }
    // The observations must be exactly the expected `cls` groups, at their indexes.
    let want: Vec<(usize, &TargetGroup)> = expected
        .iter()
        .enumerate()
        .filter(|(_, g)| g.labels.get("cls").is_some_and(|c| !c.trim().is_empty()))
        .collect();
    let seen: Vec<(usize, TargetGroup)> = observations
        .into_iter()
        .filter_map(|o| match o.origin {
            Origin::Targets(t) => Some((
                t.index,
                TargetGroup {
                    targets: t.targets,
                    labels: t.labels,
                },
            )),
            _ => None,
        })
        .collect();
    let same = want.len() == seen.len()
        && want
            .iter()
            .zip(&seen)
            .all(|((wi, wg), (si, sg))| wi == si && *wg == sg);
    if !same {
        return Err(fail(
            "the target parser reads different database groups".to_string(),
        ));
    }
    Ok(())
}
