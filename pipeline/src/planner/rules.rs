//! The hard rules on the sequence of acts (cards and other items between acts do not separate
//! them): at most N acts of one category in a row, never the same creator twice in a row.

use super::pool::Key;

/// Which hard rules a pick must keep; relaxed only when no act keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    pub category: bool,
    pub creator: bool,
}

impl Rules {
    pub const ALL: Rules = Rules {
        category: true,
        creator: true,
    };
}

/// Why an act may not go somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broken {
    CategoryRun,
    Creator,
}

/// Whether `key` may stand at act position `p` of `acts` (`p == acts.len()` appends; the act
/// now at `p`, if any, is the one replaced and is not looked at). `None` entries are not yet
/// decided and end a run. `after` stands for an act that will follow the last one (the
/// finale while the tail is filled).
pub(crate) fn check(
    acts: &[Option<Key>],
    p: usize,
    key: Key,
    max_run: usize,
    after: Option<Key>,
    rules: Rules,
) -> Result<(), Broken> {
    let left = acts[..p.min(acts.len())].iter().rev();
    let right = acts
        .iter()
        .skip(p + 1)
        .copied()
        .chain(std::iter::once(after));
    if rules.creator {
        let before = p.checked_sub(1).and_then(|q| acts[q]);
        let next = if p + 1 < acts.len() {
            acts[p + 1]
        } else {
            after
        };
        if before.is_some_and(|k| k.creator == key.creator)
            || next.is_some_and(|k| k.creator == key.creator)
        {
            return Err(Broken::Creator);
        }
    }
    if rules.category && max_run > 0 {
        let same = |k: &Option<Key>| k.is_some_and(|k| k.cat == key.cat);
        let run_left = left.take_while(|k| same(k)).count();
        let run_right = right.take_while(same).count();
        if run_left + 1 + run_right > max_run {
            return Err(Broken::CategoryRun);
        }
    }
    Ok(())
}

/// The first act position where a rule is broken in a fully decided sequence, if any.
pub(crate) fn first_broken(acts: &[Key], max_run: usize) -> Option<(usize, Broken)> {
    let mut run = 0;
    for (i, k) in acts.iter().enumerate() {
        if i > 0 && acts[i - 1].creator == k.creator {
            return Some((i, Broken::Creator));
        }
        run = if i > 0 && acts[i - 1].cat == k.cat {
            run + 1
        } else {
            1
        };
        if max_run > 0 && run > max_run {
            return Some((i, Broken::CategoryRun));
        }
    }
    None
}
