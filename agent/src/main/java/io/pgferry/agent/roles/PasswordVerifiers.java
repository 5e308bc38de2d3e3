package io.pgferry.agent.roles;

/** What kind of password verifier pg_authid holds: only SCRAM verifiers are carried to the target. */
final class PasswordVerifiers {
    static final String SCRAM = "SCRAM-SHA-256$";

    private PasswordVerifiers() {
    }

    static String kind(String verifier) {
        if (verifier == null) {
            return "none";
        }
        if (verifier.startsWith(SCRAM)) {
            return "scram";
        }
        return verifier.startsWith("md5") ? "md5" : "unknown";
    }
}
