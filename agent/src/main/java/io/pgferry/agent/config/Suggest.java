package io.pgferry.agent.config;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** "Did you mean" for misspelt keys: the known key with the smallest edit distance, if it is close. */
final class Suggest {
    private Suggest() {
    }

    static Optional<String> closest(String given, List<String> known) {
        int limit = Math.max(2, given.length() / 3);
        return known.stream()
                .filter(k -> distance(given, k) <= limit)
                .min(Comparator.comparingInt(k -> distance(given, k)));
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
