package org.densenet4j.cli;

/** A problem with what the user gave (a file, an option): reported as one line, exit code 2. */
final class UserError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UserError(String message) {
        super(message);
    }

    UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
