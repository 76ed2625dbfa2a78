'use strict';
// The least a job could ask of Temporal: one workflow, one activity (the run), one local activity (the status).
const { proxyActivities, proxyLocalActivities, upsertSearchAttributes } = require('@temporalio/workflow');

const { run } = proxyActivities({ startToCloseTimeout: '1 minute' });
const { record } = proxyLocalActivities({ startToCloseTimeout: '1 minute' });

async function oneActivity(input) {
  const out = await run(input);
  if (input.upsert) upsertSearchAttributes({ [input.upsert]: ['node-a'] });
  await record(input);
  return out;
}

// The activity on a queue of its own, as Menagerie's container queue was before version 5 (no eager dispatch).
async function activityOnOtherQueue(input) {
  const { run: runThere } = proxyActivities({ startToCloseTimeout: '1 minute', taskQueue: input.otherQueue });
  const out = await runThere(input);
  await record(input);
  return out;
}

async function empty(input) {
  await record(input);
  return null;
}

module.exports = { oneActivity, activityOnOtherQueue, empty };
