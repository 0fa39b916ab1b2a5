DROP TRIGGER IF EXISTS launchcommitment_barrier ON earn_launchcommitment;
DROP FUNCTION IF EXISTS earn_launch_commitment_barrier();
