// Two gateways on two engines sharing one redis-server (REDIS_URL, or one this test starts): the
// suite is test/helpers/several-hosts-suite.ts; several-hosts-cluster.test.ts runs it on a cluster.
import { singleNode } from '../helpers/redis-backends.ts';
import { severalHostsSuite } from '../helpers/several-hosts-suite.ts';

severalHostsSuite(singleNode);
