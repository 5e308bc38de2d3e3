package io.pgferry.agent.copy;

import io.pgferry.agent.subscription.SubscriptionState;
import java.util.List;

/**
 * The copy step's answer (the job's {@code result}, or the answer in check mode).
 *
 * @param summary what the copy did, in totals (named so, not "copy": in Ansible's Jinja, x.copy is a dict's method)
 * @param subscription the subscription created on the copy's slot; absent when nothing was created
 */
public record CopyResult(boolean changed, boolean check, List<String> queries, CopySummary summary,
                         SubscriptionState subscription) {
}
