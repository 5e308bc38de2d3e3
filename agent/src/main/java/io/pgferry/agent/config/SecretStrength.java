package io.pgferry.agent.config;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Whether a token or key is one nobody could guess. The agent's secrets are machine-made ({@code openssl rand
 * -hex 32}), so the rules only have to catch what people type instead: too short, an example's placeholder left in
 * place, one string repeated, or too few different characters to be random. The entropy estimate is the string's
 * own (Shannon) character entropy times its length: a random 16-character hex token scores 32 bits or more, a typed
 * pattern such as {@code aaaaaaaaaaaaaaaa} or {@code abababababababab} far less.
 */
final class SecretStrength {
    /** Markers of an example's value copied as is (the example inventory's vault says REPLACE-...). */
    private static final List<String> PLACEHOLDERS = List.of("replace", "changeme", "change-me", "change_me",
            "placeholder", "example", "xxxxxx", "secret", "password");
    static final double MIN_BITS = 32;

    private SecretStrength() {
    }

    /** Empty when the secret is fine; otherwise why it is weak, for "{@code <file> holds <reason>; <fix>}". */
    static Optional<String> weakness(String secret, int minLength) {
        if (secret.length() < minLength) {
            return Optional.of("a value shorter than " + minLength + " characters");
        }
        String lower = secret.toLowerCase(Locale.ROOT);
        for (String marker : PLACEHOLDERS) {
            if (lower.contains(marker)) {
                return Optional.of("a placeholder (it contains \"" + marker + "\"), not a random value");
            }
        }
        for (int period = 1; period <= secret.length() / 2; period++) {
            if (secret.length() % period == 0 && secret.equals(secret.substring(0, period)
                    .repeat(secret.length() / period))) {
                return Optional.of("the same " + period + " character(s) repeated, not a random value");
            }
        }
        double bits = bits(secret);
        if (bits < MIN_BITS) {
            return Optional.of("too little randomness (about " + Math.round(bits) + " bits; at least "
                    + Math.round(MIN_BITS) + " needed)");
        }
        return Optional.empty();
    }

    static double bits(String s) {
        Map<Integer, Integer> counts = new HashMap<>();
        s.codePoints().forEach(c -> counts.merge(c, 1, Integer::sum));
        int n = (int) s.codePoints().count();
        double perChar = 0;
        for (int count : counts.values()) {
            double p = (double) count / n;
            perChar -= p * Math.log(p) / Math.log(2);
        }
        return perChar * n;
    }
}
