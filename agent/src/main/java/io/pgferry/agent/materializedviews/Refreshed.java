package io.pgferry.agent.materializedviews;

import java.util.List;

/**
 * What a refresh did: {@code refreshed} views (CONCURRENTLY where a unique index allowed it), and those {@code skipped}
 * with why - never refreshed as a superuser the other side's owner is not.
 */
public record Refreshed(boolean changed, boolean check, List<String> queries, List<String> refreshed,
                        List<String> skipped) {
}
