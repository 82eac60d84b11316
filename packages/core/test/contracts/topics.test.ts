import { describe, expect, it } from 'vitest';
import { planSchedulesTopics, SCHEDULES_TOPIC_CONFIGS, schedulesTopicsProblems } from '@ksched/core';

describe('schedules topics', () => {
  it('uses the reference §7.2 configs', () => {
    expect(SCHEDULES_TOPIC_CONFIGS).toEqual({
      'cleanup.policy': 'compact',
      'min.cleanable.dirty.ratio': '0.1',
      'segment.ms': '3600000',
      'delete.retention.ms': '3600000',
      'segment.bytes': '52428800',
    });
  });

  it('plans the missing topics; a missing half of a pair takes the partition count of the other half', () => {
    const plan = planSchedulesTopics(
      { topics: ['a', 'b', 'c'], partitions: 3 },
      new Map([
        ['a', 7],
        ['c', 2],
        ['c_states', 2],
      ]),
    );
    expect(plan.create).toEqual([
      { topic: 'a_states', partitions: 7, configs: SCHEDULES_TOPIC_CONFIGS },
      { topic: 'b', partitions: 3, configs: SCHEDULES_TOPIC_CONFIGS },
      { topic: 'b_states', partitions: 3, configs: SCHEDULES_TOPIC_CONFIGS },
    ]);
    expect(plan.existing.sort()).toEqual(['a', 'c', 'c_states']);
    expect(planSchedulesTopics({ topics: ['x'], statesPostfix: '-st' }, new Map()).create.map((t) => [t.topic, t.partitions])).toEqual([
      ['x', 5],
      ['x-st', 5],
    ]);
  });

  it('reports every problem as a sentence, and nothing when all is well', () => {
    const good = new Map([
      ['s', 5],
      ['s_states', 5],
    ]);
    const compact = new Map([['cleanup.policy', 'compact']]);
    expect(
      schedulesTopicsProblems(
        { topics: ['s'], partitions: 5 },
        good,
        new Map([
          ['s', compact],
          ['s_states', compact],
        ]),
      ),
    ).toEqual([]);

    const problems = schedulesTopicsProblems(
      { topics: ['s', 'm'], partitions: 5 },
      new Map([
        ['s', 5],
        ['s_states', 3],
      ]),
      new Map([
        [
          's',
          new Map<string, string | null>([
            ['cleanup.policy', 'delete'],
            ['segment.ms', '100'],
          ]),
        ],
        ['s_states', new Map<string, string | null>([['cleanup.policy', 'compact,delete']])],
      ]),
    );
    expect(problems).toEqual([
      'schedules topic "s" has cleanup.policy=delete, expected compact',
      'schedules topic "s" has segment.ms=100, expected 3600000',
      'states topic of s "s_states" has 3 partitions, expected 5',
      'schedules topic "s" has 5 partitions but its states topic "s_states" has 3; they must be equal',
      'schedules topic "m" does not exist',
      'states topic of m "m_states" does not exist',
    ]);
  });

  it('checks no configs when the client cannot read them', () => {
    expect(
      schedulesTopicsProblems(
        { topics: ['s'] },
        new Map([
          ['s', 2],
          ['s_states', 2],
        ]),
      ),
    ).toEqual([]);
  });
});
