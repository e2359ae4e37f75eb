package org.phenosort.phenosort.client;

import io.grpc.Status;

/**
 * A failed call to the phenosort server: the gRPC status code and the server's message
 * (for example NOT_FOUND, "model 'x' does not exist ...").
 */
public class ClassifierException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status.Code code;
    private final String serverMessage;

    public ClassifierException(Status.Code code, String serverMessage, Throwable cause) {
        super(code + (serverMessage == null || serverMessage.isEmpty() ? "" : ": " + serverMessage), cause);
        this.code = code;
        this.serverMessage = serverMessage == null ? "" : serverMessage;
    }

    public ClassifierException(String message) {
        this(Status.Code.INVALID_ARGUMENT, message, null);
    }

    /** Maps a gRPC failure; other exceptions become UNKNOWN. */
    public static ClassifierException of(Throwable t) {
        if (t instanceof ClassifierException) return (ClassifierException) t;
        Status status = Status.fromThrowable(t);
        String description = status.getDescription();
        Throwable cause = status.getCause();
        if (cause != null && cause.getMessage() != null
                && (description == null || description.equals("io exception"))) {
            description = (description == null ? "" : description + ": ") + cause.getMessage();
        }
        if (status.getCode() == Status.Code.UNAVAILABLE && description != null
                && !description.contains("server")) {
            description = "server unavailable: " + description;
        }
        return new ClassifierException(status.getCode(), description, t);
    }

    /** The gRPC status code. */
    public Status.Code getCode() {
        return code;
    }

    /** The status code's name, e.g. "NOT_FOUND" (independent of the shaded gRPC classes). */
    public String getCodeName() {
        return code.name();
    }

    /** The server's message (status description), "" when it gave none. */
    public String getServerMessage() {
        return serverMessage;
    }
}
