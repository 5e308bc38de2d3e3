package io.pgferry.agent.copy;

import io.pgferry.agent.subscription.SubscriptionState;
import java.util.List;

/**
 * The copy step's answer (the job's {@code result}, or the answer in check mode).
 *
 * @param subscription the subscription created on the copy's slot; absent when nothing was created
 */
public record CopyResult(boolean changed, boolean check, List<String> queries, CopySummary copy,
                         SubscriptionState subscription) {
}
