/**
 * Many filters, one topic: which filters match? A trie over topic levels with
 * `+` and `#` children, so a lookup costs O(levels × wildcard branches) instead of
 * one comparison per filter. Same semantics as topicMatches (`$` topics are never
 * matched by a leading wildcard; `a/#` matches `a`).
 */
interface Node<T> {
  children: Map<string, Node<T>>;
  /** values whose filter ends here */
  values: T[];
}

const node = <T>(): Node<T> => ({ children: new Map(), values: [] });

export interface TopicTrie<T> {
  add(filter: string, value: T): void;
  /** every value whose filter matches `topic`, in insertion order */
  match(topic: string): T[];
  readonly size: number;
}

export function createTopicTrie<T>(): TopicTrie<T> {
  const root = node<T>();
  const order = new Map<T, number>();
  let size = 0;

  return {
    add(filter, value) {
      let n = root;
      for (const level of filter.split('/')) {
        let next = n.children.get(level);
        if (!next) {
          next = node<T>();
          n.children.set(level, next);
        }
        n = next;
      }
      n.values.push(value);
      order.set(value, size++);
    },
    match(topic) {
      const levels = topic.split('/');
      const out: T[] = [];
      const walk = (n: Node<T>, i: number) => {
        // [MQTT-4.7.2-1]: wildcards at the first level don't match `$` topics
        const wildOk = !(i === 0 && topic.startsWith('$'));
        const hash = wildOk ? n.children.get('#') : undefined;
        if (hash) out.push(...hash.values);
        if (i === levels.length) {
          out.push(...n.values);
          return;
        }
        const level = levels[i] ?? '';
        const exact = n.children.get(level);
        if (exact) walk(exact, i + 1);
        const plus = wildOk ? n.children.get('+') : undefined;
        if (plus) walk(plus, i + 1);
      };
      walk(root, 0);
      return out.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    },
    get size() {
      return size;
    },
  };
}
