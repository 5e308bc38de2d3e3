package io.pgferry.agent.replicationrole;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import org.postgresql.util.PasswordUtil;

/**
 * Tells whether a password matches what pg_authid stores, without the agent ever storing the password: the
 * stored SCRAM verifier carries its salt and iteration count, so recomputing it from the candidate password and
 * comparing gives the answer. pgjdbc's encoder applies SASLprep exactly as the server does.
 */
final class PasswordVerifier {
    private static final String SCRAM = "SCRAM-SHA-256$";

    private PasswordVerifier() {
    }

    /** False for anything it cannot verify (no password, an unknown format): the step then sets it again. */
    static boolean matches(String stored, String role, String password) {
        if (stored == null) {
            return false;
        }
        if (stored.startsWith(SCRAM)) {
            // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
            String[] parts = stored.substring(SCRAM.length()).split("[$:]");
            if (parts.length != 4) {
                return false;
            }
            try {
                int iterations = Integer.parseInt(parts[0]);
                byte[] salt = Base64.getDecoder().decode(parts[1]);
                return same(stored, PasswordUtil.encodeScramSha256(password.toCharArray(), iterations, salt));
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        if (stored.startsWith("md5")) {
            return same(stored, PasswordUtil.encodeMd5(role, password.toCharArray()));
        }
        return false;
    }

    /**
     * What the role's PASSWORD clause receives: a SCRAM verifier computed here, so the plain password never
     * reaches the server, its statement log or its statistics.
     */
    static String newVerifier(String password) {
        return PasswordUtil.encodeScramSha256(password.toCharArray());
    }

    private static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
