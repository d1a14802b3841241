import { Type } from 'typebox';

export const Live = Type.Object({ status: Type.String({ enum: ['ok'] }) });

export const Ready = Type.Object({
  status: Type.String({ enum: ['ok'] }),
  checks: Type.Record(Type.String(), Type.String({ enum: ['up', 'down'] }), {
    description: 'postgres, and redis (or dispatcher when running in-process)',
  }),
});
