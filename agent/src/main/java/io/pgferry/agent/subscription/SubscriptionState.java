package io.pgferry.agent.subscription;

import java.util.List;

/**
 * The subscription as the step leaves it (or, in check mode, would leave it).
 *
 * @param conninfo with the password masked
 */
public record SubscriptionState(String name, boolean exists, Boolean enabled, List<String> publications,
                                String slotName, Boolean binary, String streaming, String conninfo) {
    /** The step's answer names it {@code subscription}. */
    public record Response(SubscriptionState subscription) {
    }
}
