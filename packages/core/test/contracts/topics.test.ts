import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_TOPIC_CONFIGS,
  DEAD_LETTER_TOPIC_PARTITIONS,
  planSchedulesTopics,
  SCHEDULES_TOPIC_CONFIGS,
  schedulesTopicsProblems,
} from '@ksched/core';

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

describe('the dead-letter topic in the topic plan', () => {
  const pair = new Map([
    ['s', 5],
    ['s_states', 5],
  ]);

  it('is a log of failures: delete, 7 days, 1 partition', () => {
    expect(DEAD_LETTER_TOPIC_CONFIGS).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(7 * 24 * 3_600_000) });
    expect(DEAD_LETTER_TOPIC_PARTITIONS).toBe(1);
  });

  it('is planned only when configured: created when missing with its own settings (not the schedules partitions), reported when present', () => {
    expect(planSchedulesTopics({ topics: ['s'], partitions: 5 }, pair).create).toEqual([]);
    const plan = planSchedulesTopics({ topics: ['s', 'n'], partitions: 8, deadLetterTopic: 'dlq' }, pair);
    expect(plan.create).toEqual([
      { topic: 'n', partitions: 8, configs: SCHEDULES_TOPIC_CONFIGS },
      { topic: 'n_states', partitions: 8, configs: SCHEDULES_TOPIC_CONFIGS },
      { topic: 'dlq', partitions: 1, configs: DEAD_LETTER_TOPIC_CONFIGS },
    ]);
    const again = planSchedulesTopics({ topics: ['s'], deadLetterTopic: 'dlq' }, new Map([...pair, ['dlq', 3]]));
    expect(again).toEqual({ create: [], existing: ['s', 's_states', 'dlq'] });
  });

  it('a dead-letter topic that is also a schedules or states topic is planned once, as that topic', () => {
    expect(planSchedulesTopics({ topics: ['s'], deadLetterTopic: 's_states' }, new Map()).create.map((t) => t.topic)).toEqual([
      's',
      's_states',
    ]);
  });

  it('reports a missing or compacted dead-letter topic, never its partition count or retention', () => {
    const spec = { topics: ['s'], partitions: 5, deadLetterTopic: 'dlq' };
    const compact = new Map([['cleanup.policy', 'compact']]);
    const configs = (dlq: ReadonlyMap<string, string | null>) =>
      new Map([
        ['s', compact],
        ['s_states', compact],
        ['dlq', dlq],
      ]);
    expect(schedulesTopicsProblems(spec, pair, configs(new Map()))).toEqual(['dead-letter topic "dlq" does not exist']);
    const present = new Map([...pair, ['dlq', 3]]);
    expect(schedulesTopicsProblems(spec, present, configs(new Map([['cleanup.policy', 'delete']])))).toEqual([]);
    expect(
      schedulesTopicsProblems(
        { ...spec, partitions: undefined },
        present,
        configs(
          new Map([
            ['cleanup.policy', 'delete'],
            ['retention.ms', '-1'],
            ['segment.ms', '100'],
          ]),
        ),
      ),
    ).toEqual([]);
    expect(schedulesTopicsProblems(spec, present, configs(new Map([['cleanup.policy', 'compact']])))).toEqual([
      'dead-letter topic "dlq" has cleanup.policy=compact, expected delete',
    ]);
    expect(schedulesTopicsProblems(spec, present, configs(new Map([['cleanup.policy', 'compact,delete']])))).toEqual([
      'dead-letter topic "dlq" has cleanup.policy=compact,delete, expected delete',
    ]);
    // A client that cannot read configs: existence only.
    expect(schedulesTopicsProblems(spec, present)).toEqual([]);
  });

  it('reports a dead-letter topic that is also a schedules or states topic', () => {
    expect(schedulesTopicsProblems({ topics: ['s'], deadLetterTopic: 's' }, pair)).toEqual([
      'dead-letter topic "s" is also a schedules topic; it needs a topic of its own',
    ]);
    expect(schedulesTopicsProblems({ topics: ['s'], deadLetterTopic: 's_states' }, pair)).toEqual([
      'dead-letter topic "s_states" is also a states topic; it needs a topic of its own',
    ]);
  });
});
