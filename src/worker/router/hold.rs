//! Hold pricing: how long a payment may wait for the cheap default while the dear fallback could
//! take it. `DESIGN.md` §5 ("The hold bound comes from the fees") derives the rule.

/// The default horizon over which the end of a test is expected, used to price holding (ms).
pub(crate) const HOLD_HORIZON_MS: i64 = 100_000;

/// The longest hold that cannot leave a payment unpaid when the load stops (ms). The contest's
/// virtual users sleep 1 s after each payment, so the test ends at least 1 s after its last
/// payment; a payment held at most 800 ms and then paid by a fast fallback is recorded in time.
pub(crate) const END_GRACE_MS: i64 = 800;

const _: () = assert!(END_GRACE_MS < 1000, "the load test stops 1 s after its last payment");
const _: () = assert!(END_GRACE_MS < HOLD_HORIZON_MS);

/// How long holding a payment for the default can pay for itself (ms).
///
/// Holding gains the fee difference `Δ = fee_fallback − fee_default` if the default comes back in
/// time, and risks the fallback's net `1 − fee_fallback` if the test ends during the hold. With
/// the end equally likely anywhere in a horizon `T`, the chance it falls in a hold of `H` is `H/T`,
/// so holding is worth it while `H/T < Δ / (1 − fee_fallback)`. Preview fees (5 %/15 %) give
/// 11.8 s over 100 s; final fees (7 %/10 %) give 3.3 s. Zero when the fallback is not dearer.
///
/// # Panics
/// If the fallback's fee is 100 % or more, or the horizon is negative.
pub(crate) fn hold_max_ms_for_fees(
    fee_default_basis_points: u32,
    fee_fallback_basis_points: u32,
    horizon_ms: i64,
) -> i64 {
    assert!(fee_fallback_basis_points < 10_000, "a fee of 100 % leaves nothing to earn");
    assert!(horizon_ms >= 0, "a horizon is a duration");
    let difference = i64::from(fee_fallback_basis_points) - i64::from(fee_default_basis_points);
    if difference <= 0 {
        return 0;
    }
    let hold_ms = horizon_ms * difference / (10_000 - i64::from(fee_fallback_basis_points));
    assert!(hold_ms >= 0);
    hold_ms
}

/// The hold the router uses by default: the fee-priced bound over [`HOLD_HORIZON_MS`], capped at
/// [`END_GRACE_MS`] so that a hold never turns into a payment left unpaid at the end of the test.
pub(crate) fn hold_max_ms_default(
    fee_default_basis_points: u32,
    fee_fallback_basis_points: u32,
) -> i64 {
    hold_max_ms_for_fees(fee_default_basis_points, fee_fallback_basis_points, HOLD_HORIZON_MS)
        .min(END_GRACE_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_bounds_follow_the_fee_difference() {
        // (fees default/fallback, horizon, fee-priced hold, default hold, why)
        let cases = [
            ((500, 1500), HOLD_HORIZON_MS, 11_764, END_GRACE_MS, "preview fees"),
            ((700, 1000), HOLD_HORIZON_MS, 3_333, END_GRACE_MS, "final fees"),
            ((1000, 1000), HOLD_HORIZON_MS, 0, 0, "equal fees: never hold"),
            ((1500, 500), HOLD_HORIZON_MS, 0, 0, "cheaper fallback: never hold"),
            ((995, 1000), HOLD_HORIZON_MS, 55, 55, "a tiny saving holds briefly"),
            ((500, 1500), 0, 0, END_GRACE_MS, "no horizon: nothing to gain"),
        ];
        for ((default, fallback), horizon_ms, priced_ms, default_ms, why) in cases {
            assert_eq!(hold_max_ms_for_fees(default, fallback, horizon_ms), priced_ms, "{why}");
            if horizon_ms == HOLD_HORIZON_MS {
                assert_eq!(hold_max_ms_default(default, fallback), default_ms, "{why}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "a fee of 100 %")]
    fn a_fee_of_everything_is_refused() {
        hold_max_ms_for_fees(0, 10_000, HOLD_HORIZON_MS);
    }
}
