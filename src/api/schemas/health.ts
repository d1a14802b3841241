import { Type } from 'typebox';

export const Live = Type.Object({ status: Type.Literal('ok') });

export const Ready = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Record(Type.String(), Type.Union([Type.Literal('up'), Type.Literal('down')]), {
    description: 'postgres, and redis (or dispatcher when running in-process)',
  }),
});
