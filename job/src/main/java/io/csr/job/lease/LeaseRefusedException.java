package io.csr.job.lease;

/** Another running job holds the lease: its message names that job and says what to do. */
public final class LeaseRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LeaseRefusedException(String message) {
        super(message);
    }
}
