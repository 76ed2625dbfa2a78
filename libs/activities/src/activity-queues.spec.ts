import { activitiesOn, ACTIVITY_QUEUES, createActivities, type ActivityDeps } from './activities';

describe('the activity → queue table', () => {
  const activities = createActivities({} as ActivityDeps);

  it('places every activity on exactly one queue', () => {
    expect(Object.keys(ACTIVITY_QUEUES).sort()).toEqual(Object.keys(activities).sort());
    const container = Object.keys(activitiesOn(activities, 'container'));
    const workflow = Object.keys(activitiesOn(activities, 'workflow'));
    expect(container.filter((name) => workflow.includes(name))).toEqual([]);
    expect([...container, ...workflow].sort()).toEqual(Object.keys(activities).sort());
  });

  it('runs containers only on the container queue, which the engine`s workers bound', () => {
    expect(Object.keys(activitiesOn(activities, 'container')).sort()).toEqual(['checkDataBundle', 'runJob']);
  });
});
