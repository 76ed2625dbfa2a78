'use strict';
/**
 * The job statuses, from the built @menagerie/core (libs/core/dist: the
 * benchmarks run after the build, as they run the built API and worker).
 */
const { FINAL_STATUSES, JOB_STATUSES } = require('@menagerie/core');

/** The statuses a job is still in while it has not ended: queued, running. */
const LIVE_STATUSES = JOB_STATUSES.filter((s) => !FINAL_STATUSES.includes(s));

module.exports = { FINAL_STATUSES, JOB_STATUSES, LIVE_STATUSES };
